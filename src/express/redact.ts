/**
 * @module Removes credentials from text bound for a log: URL passwords, bearer and basic credentials,
 * JWTs, PEM keys, and `name=value` / `name: value` pairs whose name says secret (password, token, key…).
 */

const RULES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[private key]'],
  [/\b(\w+:\/\/)[^\s/:@]*:[^\s/@]*@/g, '$1***@'],
  [/\bBearer\s+[\w.~+/=-]+/gi, 'Bearer ***'],
  [/\bBasic\s+[A-Za-z0-9+/=]+/gi, 'Basic ***'],
  [/\b((?:[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|auth|credential|session)[\w-]*)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;]+)/gi, '$1***'],
  [/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[jwt]'],
];

/** `text` with every credential this module recognises replaced by a marker. */
export function redact(text: string): string {
  return RULES.reduce((out, [pattern, marker]) => out.replace(pattern, marker), text);
}
