/** @module Rotates a refresh token: new pair, same family; the old pair is dead afterwards. */
import { prepareClaims } from './claims';
import { lifetimes, type TokenContext } from './context';
import { signPair } from './create';
import { newTokenId } from './sign';
import type { BaseClaims } from './types';
import { verifyToken } from './verify';

/**
 * @returns the new pair, or null when the refresh token is invalid, not current (reuse: the family
 * is revoked), or belongs to another subject than `claims.sub`.
 * @throws InvalidClaimsError, CacheUnavailableError
 */
export async function updateToken(ctx: TokenContext, claims: BaseClaims, refresh: unknown): Promise<[string, string] | null> {
  const clean = await prepareClaims(claims, ctx.config.claimsClass as (new () => unknown) | undefined);
  const payload = await verifyToken(ctx.config, refresh, 'refresh');
  if (!payload || payload.sub !== claims.sub) return null;
  const [ajti, rjti] = [newTokenId(), newTokenId()];
  const result = await ctx.store.rotate({ sub: payload.sub, fid: payload.fid, jti: payload.jti }, rjti, ajti, lifetimes(ctx.config));
  result.revocations.forEach((r) => ctx.registry.add(r));
  if (result.outcome !== 'ok') return null;
  return signPair(ctx, clean, payload.fid, ajti, rjti);
}
