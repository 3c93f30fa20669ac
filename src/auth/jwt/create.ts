/** @module Issues a token pair for a new login (a new family). */
import { InvalidClaimsError } from '../../errors';
import { prepareClaims } from './claims';
import { applyRevocations, policy, type TokenContext } from './context';
import { newTokenId, signToken } from './sign';
import type { BaseClaims } from './types';
import { MAX_TOKEN_LENGTH } from './verify';

/** Identity and time of a pair. */
export interface PairSpec {
  fid: string;
  gen: number;
  ajti: string;
  rjti: string;
  iatS: number;
}

/**
 * Signs an access and a refresh token with the same claims, family, generation and issue time.
 * @throws InvalidClaimsError when a token would be longer than `MAX_TOKEN_LENGTH` (it could never validate)
 */
export async function signPair(ctx: TokenContext, claims: Record<string, unknown>, spec: PairSpec): Promise<[string, string]> {
  const { fid, gen, iatS: iat } = spec;
  const pair = await Promise.all([
    signToken(ctx.config, { claims, type: 'access', jti: spec.ajti, fid, gen, iat, ttlS: ctx.config.accessTtlS }),
    signToken(ctx.config, { claims, type: 'refresh', jti: spec.rjti, fid, gen, iat, ttlS: ctx.config.refreshTtlS }),
  ]);
  const longest = Math.max(pair[0].length, pair[1].length);
  if (longest > MAX_TOKEN_LENGTH) {
    throw new InvalidClaimsError(`claims too large: the token would be ${longest} characters, above MAX_TOKEN_LENGTH (${MAX_TOKEN_LENGTH})`);
  }
  return pair;
}

/**
 * Checks the claims and signs the pair BEFORE the session is recorded, so a refused pair leaves no state.
 * @throws InvalidClaimsError for claims without a well-formed string `sub`, of a bad shape or size, or rejected by `claimsClass`
 * @throws CacheUnavailableError when the session cannot be recorded
 */
export async function createToken(ctx: TokenContext, claims: BaseClaims): Promise<[string, string]> {
  const clean = await prepareClaims(claims, ctx.config.claimsClass as (new () => unknown) | undefined);
  const spec: PairSpec = { fid: newTokenId(), gen: 0, ajti: newTokenId(), rjti: newTokenId(), iatS: Math.floor(Date.now() / 1000) };
  const pair = await signPair(ctx, clean, spec);
  const accessExpMs = (spec.iatS + ctx.config.accessTtlS) * 1000;
  const result = await ctx.store.issue(claims.sub, spec.fid, { rjti: spec.rjti, accessExpMs, iatS: spec.iatS }, policy(ctx.config));
  applyRevocations(ctx, result.revocations);
  return pair;
}
