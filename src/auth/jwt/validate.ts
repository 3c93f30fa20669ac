/** @module Validates access tokens (locally) and refresh tokens (against the session store). */
import { applyRevocations, policy, type TokenContext } from './context';
import { MAX_TOKEN_LENGTH, verifyToken } from './verify';
import type { AccessPayload, BaseClaims, RefreshPayload } from './types';

/**
 * Signature (once per token per process, then remembered), expiry and the local revocation
 * registry. No store round trip.
 */
export async function validateAccessToken(ctx: TokenContext, token: unknown): Promise<AccessPayload<BaseClaims> | null> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  let payload = ctx.verified.get(token);
  if (!payload) {
    const verified = await verifyToken(ctx.config, token, 'access');
    if (!verified) return null;
    payload = Object.freeze(verified) as AccessPayload<BaseClaims>;
    ctx.verified.set(token, payload);
  }
  if (payload.exp * 1000 <= Date.now()) {
    ctx.verified.delete(token);
    return null;
  }
  const gen = typeof payload.fgen === 'number' ? payload.fgen : 0;
  return ctx.registry.isRevoked(payload.jti, payload.fid, gen, payload.exp * 1000) ? null : payload;
}

/** Verifies the refresh token and that it is its family's current one (a stale one revokes the family). */
export async function validateRefreshToken(ctx: TokenContext, token: unknown): Promise<RefreshPayload<BaseClaims> | null> {
  const payload = await verifyToken(ctx.config, token, 'refresh');
  if (!payload) return null;
  const result = await ctx.store.check({ sub: payload.sub, fid: payload.fid, jti: payload.jti }, policy(ctx.config));
  applyRevocations(ctx, result.revocations);
  return result.outcome === 'ok' ? (payload as RefreshPayload<BaseClaims>) : null;
}
