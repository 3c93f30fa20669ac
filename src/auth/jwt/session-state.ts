/**
 * @module The session operations as pure functions over one subject's sessions. The generic store
 * runs them under a lock; `src/auth/lua/*.lua` are their Redis twins and must keep the same rules.
 */
import type { Revocation } from './revocation-registry';
import type { Lifetimes, Presented, StoreResult } from './session-store';

/** One login. */
export interface SessionRecord {
  rjti: string;
  ajti: string;
  expMs: number;
}

/** A subject's sessions by family id. */
export type Sessions = Record<string, SessionRecord>;

function revokeFamily(sessions: Sessions, fid: string, now: number, ttl: Lifetimes): Revocation {
  delete sessions[fid];
  return { kind: 'f', id: fid, untilMs: now + ttl.accessTtlMs };
}

/** Drops expired sessions. */
export function prune(sessions: Sessions, now: number): Sessions {
  for (const [fid, record] of Object.entries(sessions)) if (record.expMs <= now) delete sessions[fid];
  return sessions;
}

/** Compares `p` with its family; revokes the family on reuse. */
export function checkPresented(sessions: Sessions, p: Presented, now: number, ttl: Lifetimes): StoreResult {
  const record = sessions[p.fid];
  if (!record) return { outcome: 'unknown', revocations: [] };
  if (record.rjti !== p.jti) return { outcome: 'reuse', revocations: [revokeFamily(sessions, p.fid, now, ttl)] };
  return { outcome: 'ok', revocations: [] };
}

export function rotate(sessions: Sessions, p: Presented, rjti: string, ajti: string, now: number, ttl: Lifetimes): StoreResult {
  const checked = checkPresented(sessions, p, now, ttl);
  if (checked.outcome !== 'ok') return checked;
  const old = sessions[p.fid];
  sessions[p.fid] = { rjti, ajti, expMs: now + ttl.refreshTtlMs };
  return { outcome: 'ok', revocations: [{ kind: 'j', id: old.ajti, untilMs: now + ttl.accessTtlMs }] };
}

export function revoke(sessions: Sessions, p: Presented, now: number, ttl: Lifetimes, targetJti?: string): StoreResult {
  const checked = checkPresented(sessions, p, now, ttl);
  if (checked.outcome !== 'ok') return checked;
  if (targetJti === undefined) return { outcome: 'ok', revocations: [revokeFamily(sessions, p.fid, now, ttl)] };
  const target = Object.keys(sessions).find((fid) => sessions[fid].rjti === targetJti);
  if (!target) return { outcome: 'unknown', revocations: [] };
  return { outcome: 'ok', revocations: [revokeFamily(sessions, target, now, ttl)] };
}

export function revokeAll(sessions: Sessions, now: number, ttl: Lifetimes): Revocation[] {
  return Object.keys(sessions).map((fid) => revokeFamily(sessions, fid, now, ttl));
}
