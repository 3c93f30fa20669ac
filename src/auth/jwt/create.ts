/** @module Issues a token pair for a new login (a new family). */
import { prepareClaims } from './claims';
import { lifetimes, type TokenContext } from './context';
import { newTokenId, signToken } from './sign';
import type { BaseClaims } from './types';

/** Signs an access and a refresh token with the same claims, family and issue time. */
export async function signPair(ctx: TokenContext, claims: Record<string, unknown>, fid: string, ajti: string, rjti: string): Promise<[string, string]> {
  const iat = Math.floor(Date.now() / 1000);
  return Promise.all([
    signToken(ctx.config, { claims, type: 'access', jti: ajti, fid, iat, ttlS: ctx.config.accessTtlS }),
    signToken(ctx.config, { claims, type: 'refresh', jti: rjti, fid, iat, ttlS: ctx.config.refreshTtlS }),
  ]);
}

/**
 * @throws InvalidClaimsError for claims without a string `sub` or rejected by `claimsClass`
 * @throws CacheUnavailableError when the session cannot be recorded
 */
export async function createToken(ctx: TokenContext, claims: BaseClaims): Promise<[string, string]> {
  const clean = await prepareClaims(claims, ctx.config.claimsClass as (new () => unknown) | undefined);
  const [fid, ajti, rjti] = [newTokenId(), newTokenId(), newTokenId()];
  await ctx.store.issue(claims.sub, fid, rjti, ajti, lifetimes(ctx.config));
  return signPair(ctx, clean, fid, ajti, rjti);
}
