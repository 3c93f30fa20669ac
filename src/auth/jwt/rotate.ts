/**
 * @module Rotates a refresh token: new pair, same family, next generation; the old pair is dead
 * afterwards. The new jtis derive from the presented one, so a retry after a lost reply (an
 * `OutcomeUnknownError`) gets the same pair back instead of tripping reuse detection.
 */
import { prepareClaims } from './claims';
import { applyRevocations, policy, type TokenContext } from './context';
import { signPair, type PairSpec } from './create';
import { rotationIds } from './rotation-ids';
import { RESERVED_CLAIMS, UNSAFE_MEMBERS, type BaseClaims } from './types';
import { verifyToken } from './verify';

/** The caller's claims a refresh token carries (what `createToken`/`updateToken` put in it). */
function carriedClaims(payload: Record<string, unknown>): BaseClaims {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (!RESERVED_CLAIMS.includes(name) && !UNSAFE_MEMBERS.includes(name)) claims[name] = value;
  }
  return claims as BaseClaims;
}

/**
 * @param claims the new pair's claims; omitted (null/undefined): the claims the refresh token carries
 * @returns the new pair, or null when the refresh token is invalid, not current (reuse: the family
 * is revoked), or belongs to another subject than `claims.sub`.
 * @throws InvalidClaimsError, CacheUnavailableError, OutcomeUnknownError (retry the same call)
 */
export async function updateToken(ctx: TokenContext, claims: BaseClaims | undefined, refresh: unknown): Promise<[string, string] | null> {
  const claimsClass = ctx.config.claimsClass as (new () => unknown) | undefined;
  const given = claims == null ? undefined : await prepareClaims(claims, claimsClass);
  const payload = await verifyToken(ctx.config, refresh, 'refresh');
  if (!payload || (claims != null && payload.sub !== claims.sub)) return null;
  const clean = given ?? (await prepareClaims(carriedClaims(payload), claimsClass));
  const gen = (typeof payload.fgen === 'number' ? payload.fgen : 0) + 1;
  const spec: PairSpec = { fid: payload.fid, gen, ...rotationIds(ctx.config.key.signingKey, payload.jti), iatS: Math.floor(Date.now() / 1000) };
  let pair = await signPair(ctx, clean, spec); // size checked before anything is stored
  const accessExpMs = (spec.iatS + ctx.config.accessTtlS) * 1000;
  const presented = { sub: payload.sub, fid: payload.fid, jti: payload.jti };
  const result = await ctx.store.rotate(presented, { rjti: spec.rjti, accessExpMs, iatS: spec.iatS }, policy(ctx.config));
  applyRevocations(ctx, result.revocations);
  if (result.outcome !== 'ok') return null;
  // A retried rotation: the store answers the first attempt's generation and iat; sign that pair.
  if (result.gen !== spec.gen || result.iatS !== spec.iatS) pair = await signPair(ctx, clean, { ...spec, gen: result.gen, iatS: result.iatS });
  return pair;
}
