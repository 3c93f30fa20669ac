/**
 * @module Startup checks of a rule's arguments that catch the usual slips: options passed where the
 * scopes go, an option name misspelt (`algo`), a scope one letter away from `user`/`anno` (`usr`),
 * a window too short to count, a constant cost no request can pay (issue 11 item 5, issue 8 item 12).
 */
import { InvalidOptionError } from '../errors';

/** The option names `limiter()` / `@Limiter` accept. */
export const LIMIT_OPTION_NAMES = ['method', 'key', 'algorithm', 'cost', 'skip'] as const;

/** The scopes with a meaning of their own; any other string is a scope the caller's token must hold. */
const KIND_SCOPES = ['user', 'anno'] as const;

/** Levenshtein distance, for short names only (option names and scopes written in code). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The known name `name` most likely meant: a prefix of it, or the closest within a few edits. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const prefixed = known.find((k) => k.startsWith(lower) || lower.startsWith(k));
  if (prefixed) return prefixed;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 2)) + 1;
  for (const k of known) {
    const d = distance(lower, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** @throws InvalidOptionError for an object given as scopes (options are the fourth argument) */
export function checkScopesArgument(scopes: unknown): void {
  if (scopes !== null && typeof scopes === 'object' && !Array.isArray(scopes)) {
    throw new InvalidOptionError('scopes', 'must be an array of strings; options are the fourth argument: limiter(10, 10, [], { method: "GET" })');
  }
}

/** @throws InvalidOptionError for a scope one edit away from `user` or `anno` ("did you mean 'user'?") */
export function checkScopeSpelling(scopes: readonly string[]): void {
  for (const scope of scopes) {
    if ((KIND_SCOPES as readonly string[]).includes(scope)) continue;
    const meant = KIND_SCOPES.find((k) => distance(scope.toLowerCase(), k) <= 1);
    if (meant) {
      throw new InvalidOptionError('scopes', `"${scope}" would require a token scope of that name; did you mean '${meant}'?`);
    }
  }
}

/** @throws InvalidOptionError for a non-object or an option name that `LimitOptions` does not have */
export function checkOptionNames(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('options', `must be an object with any of ${LIMIT_OPTION_NAMES.join(', ')}`);
  }
  for (const name of Object.keys(options)) {
    if ((LIMIT_OPTION_NAMES as readonly string[]).includes(name)) continue;
    const meant = nearestName(name, LIMIT_OPTION_NAMES);
    const hint = meant ? `did you mean '${meant}'?` : `valid options: ${LIMIT_OPTION_NAMES.join(', ')}`;
    throw new InvalidOptionError(name, `is not a limiter option; ${hint}`);
  }
}
