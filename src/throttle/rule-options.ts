/**
 * @module Startup checks of a rule's arguments that catch the usual slips: options passed where the
 * scopes go, an option name misspelt (`algo`), a scope one letter away from `user`/`anno` (`usr`),
 * a window too short to count, a constant cost no request can pay (issue 11 item 5, issue 8 item 12).
 */
import { InvalidOptionError } from '../errors';
import { checkOptions, editDistance } from '../utils/options';
import type { LimitOptions } from './rule';

/** The option names `limiter()` / `@Limiter` accept. */
export const LIMIT_OPTION_NAMES = ['method', 'key', 'algorithm', 'cost', 'skip'] as const;

/** The scopes with a meaning of their own; any other string is a scope the caller's token must hold. */
const KIND_SCOPES = ['user', 'anno'] as const;

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
    const meant = KIND_SCOPES.find((k) => editDistance(scope, k) <= 1);
    if (meant) {
      throw new InvalidOptionError('scopes', `"${scope}" would require a token scope of that name; did you mean '${meant}'?`);
    }
  }
}

/** @throws InvalidOptionError for a non-object or an option name that `LimitOptions` does not have */
export function checkOptionNames(options: LimitOptions): void {
  checkOptions(options, LIMIT_OPTION_NAMES, 'limiter');
}
