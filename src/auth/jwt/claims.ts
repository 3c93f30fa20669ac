/** @module Checks and cleans the claims a caller wants in a token. */
import { InvalidClaimsError } from '../../errors';
import { RESERVED_CLAIMS, type BaseClaims } from './types';

/**
 * Returns the caller's claims without reserved ones (the service sets those), after checking `sub`
 * and, when given, the class-validator `claimsClass`.
 * @throws InvalidClaimsError (its message names the failing properties, never their values)
 */
export async function prepareClaims<C extends BaseClaims>(claims: C, claimsClass?: new () => unknown): Promise<Record<string, unknown>> {
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new InvalidClaimsError('claims must be an object');
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new InvalidClaimsError('claims need a non-empty string "sub"');
  if (claimsClass) {
    // Loaded lazily: class-validator is an optional peer dependency.
    const { plainToInstance } = await import('class-transformer');
    const { validate } = await import('class-validator');
    const errors = await validate(plainToInstance(claimsClass, claims) as object);
    if (errors.length) throw new InvalidClaimsError(`claims failed validation: ${errors.map((e) => e.property).join(', ')}`);
  }
  const clean: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) if (!RESERVED_CLAIMS.includes(name)) clean[name] = value;
  return clean;
}
