/** @module Checks and cleans the claims a caller wants in a token, before anything is signed or stored. */
import { InvalidClaimsError } from '../../errors';
import { RESERVED_CLAIMS, UNSAFE_MEMBERS, type BaseClaims } from './types';

/** Claims nested deeper than this are refused (a bound on work, and no RangeError from deep recursion). */
export const MAX_CLAIMS_DEPTH = 32;
/** Claims with more values than this (objects, arrays and leaves together) are refused. */
export const MAX_CLAIMS_NODES = 10_000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `String.prototype.isWellFormed` (ES2024; Node 20), spelled out for the ES2022 typings. */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Iterative walk: depth and size within bounds (a cycle exceeds the depth), only JSON values. */
function checkShape(claims: object): void {
  const stack: [unknown, number][] = [[claims, 1]];
  let nodes = 0;
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (++nodes > MAX_CLAIMS_NODES) throw new InvalidClaimsError(`claims must hold at most ${MAX_CLAIMS_NODES} values`);
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new InvalidClaimsError('claims must be JSON values (a number is not finite)');
      continue;
    }
    if (typeof value !== 'object') throw new InvalidClaimsError(`claims must be JSON values (found a ${typeof value})`);
    if (depth > MAX_CLAIMS_DEPTH) throw new InvalidClaimsError(`claims must be nested at most ${MAX_CLAIMS_DEPTH} deep`);
    for (const member of Object.values(value as object)) if (member !== undefined) stack.push([member, depth + 1]);
  }
}

/**
 * Returns the caller's claims without reserved ones (the service sets those) and without members that
 * would replace a prototype (`__proto__`, `constructor`, `prototype`), after checking `sub` (a
 * non-empty, well-formed UTF-16 string: lone surrogates would collide in UTF-8 keys), the shape
 * (JSON values, depth and size bounds) and, when given, the class-validator `claimsClass`.
 * @throws InvalidClaimsError (its message names the failing properties, never their values)
 */
export async function prepareClaims<C extends BaseClaims>(claims: C, claimsClass?: new () => unknown): Promise<Record<string, unknown>> {
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new InvalidClaimsError('claims must be an object');
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new InvalidClaimsError('claims need a non-empty string "sub"');
  if (!isWellFormed(claims.sub)) throw new InvalidClaimsError('"sub" must be well-formed UTF-16 (no lone surrogates)');
  checkShape(claims);
  if (claimsClass) {
    // Loaded lazily: class-validator is an optional peer dependency.
    const { plainToInstance } = await import('class-transformer');
    const { validate } = await import('class-validator');
    const errors = await validate(plainToInstance(claimsClass, claims) as object);
    if (errors.length) throw new InvalidClaimsError(`claims failed validation: ${errors.map((e) => e.property).join(', ')}`);
  }
  const clean: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (!RESERVED_CLAIMS.includes(name) && !UNSAFE_MEMBERS.includes(name)) clean[name] = value;
  }
  return clean;
}
