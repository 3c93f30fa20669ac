/** @module Removes credentials from text bound for a log: URL passwords, bearer tokens, JWTs, PEM keys. */

const RULES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[private key]'],
  [/\b(\w+:\/\/)[^\s/:@]*:[^\s/@]*@/g, '$1***@'],
  [/\bBearer\s+[\w.~+/=-]+/gi, 'Bearer ***'],
  [/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[jwt]'],
];

/** `text` with every credential this module recognises replaced by a marker. */
export function redact(text: string): string {
  return RULES.reduce((out, [pattern, marker]) => out.replace(pattern, marker), text);
}
