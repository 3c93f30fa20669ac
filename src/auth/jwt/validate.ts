/** @module Validates access tokens (locally) and refresh tokens (against the session store). */
import { applyRevocations, policy, type TokenContext } from './context';
import { B64TOKEN_SOURCE, MAX_TOKEN_LENGTH, verifyToken } from './verify';
import type { AccessPayload, BaseClaims, RefreshPayload } from './types';

const B64TOKEN = new RegExp(`^${B64TOKEN_SOURCE}$`);

/**
 * The method under which `JWTService` offers `validateCachedAccessToken` to `JWTBackend` (a symbol:
 * not part of the public API).
 */
export const VALIDATE_CACHED: unique symbol = Symbol('webtool.validateCachedAccessToken');

/**
 * The part of `validateAccessToken` that needs no await: the payload of a token already verified by
 * this process (expiry and revocation checked now), null for one that can never be valid, or
 * undefined when the signature must be verified first. The request path answers a reused token with
 * it, without a microtask hop.
 */
export function validateCachedAccessToken(ctx: TokenContext, token: unknown): AccessPayload<BaseClaims> | null | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const payload = ctx.verified.get(token);
  return payload && checkLive(ctx, token, payload);
}

/** Expiry and the local revocation registry, on every use of a verified payload. */
function checkLive(ctx: TokenContext, token: string, payload: AccessPayload<BaseClaims>): AccessPayload<BaseClaims> | null {
  if (payload.exp * 1000 <= Date.now()) {
    ctx.verified.delete(token);
    return null;
  }
  const gen = typeof payload.fgen === 'number' ? payload.fgen : 0;
  return ctx.registry.isRevoked(payload.jti, payload.fid, gen, payload.exp * 1000) ? null : payload;
}

/**
 * Signature (once per token per process, then remembered), expiry and the local revocation
 * registry. No store round trip.
 */
export async function validateAccessToken(ctx: TokenContext, token: unknown): Promise<AccessPayload<BaseClaims> | null> {
  const cached = validateCachedAccessToken(ctx, token);
  if (cached !== undefined) return cached;
  const verified = await verifyToken(ctx.config, token as string, 'access');
  if (!verified) return null;
  const payload = Object.freeze(verified) as AccessPayload<BaseClaims>;
  // Remembered only in a spelling a Bearer header can carry (jose's decoder also skips whitespace):
  // a header is matched against remembered tokens before its characters are checked.
  if (B64TOKEN.test(token as string)) ctx.verified.set(token as string, payload);
  return checkLive(ctx, token as string, payload);
}

/** Verifies the refresh token and that it is its family's current one (a stale one revokes the family). */
export async function validateRefreshToken(ctx: TokenContext, token: unknown): Promise<RefreshPayload<BaseClaims> | null> {
  const payload = await verifyToken(ctx.config, token, 'refresh');
  if (!payload) return null;
  const result = await ctx.store.check({ sub: payload.sub, fid: payload.fid, jti: payload.jti }, policy(ctx.config));
  applyRevocations(ctx, result.revocations);
  return result.outcome === 'ok' ? (payload as RefreshPayload<BaseClaims>) : null;
}
