/** @module Ends sessions: one (by its refresh token, or a chosen one of the same subject) or all of a subject. */
import { applyRevocations, policy, type TokenContext } from './context';
import { verifyToken } from './verify';

/**
 * @returns true when a live session was ended; false for an invalid or unknown token (a stale,
 * already-rotated token is reuse: its family is revoked and false is returned).
 */
export async function invalidateToken(ctx: TokenContext, refresh: unknown, targetJti?: string): Promise<boolean> {
  const payload = await verifyToken(ctx.config, refresh, 'refresh');
  if (!payload) return false;
  const result = await ctx.store.revoke({ sub: payload.sub, fid: payload.fid, jti: payload.jti }, policy(ctx.config), targetJti);
  applyRevocations(ctx, result.revocations);
  return result.outcome === 'ok';
}

/** Ends every session of `sub` (at most `maxSessionsPerSubject`). @returns how many were ended */
export async function revokeAll(ctx: TokenContext, sub: string): Promise<number> {
  if (typeof sub !== 'string' || sub.length === 0) return 0;
  const { count, revocations } = await ctx.store.revokeAll(sub, policy(ctx.config));
  applyRevocations(ctx, revocations);
  return count;
}

/** The current refresh jtis of the live sessions of `refresh`'s subject; empty for an invalid or dead token. */
export async function searchToken(ctx: TokenContext, refresh: unknown): Promise<string[]> {
  const payload = await verifyToken(ctx.config, refresh, 'refresh');
  if (!payload) return [];
  const live = await ctx.store.search(payload.sub, policy(ctx.config));
  return live.includes(payload.jti) ? live : [];
}
