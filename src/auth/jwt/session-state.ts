/**
 * @module The session operations as pure functions over one subject's sessions. The generic store
 * runs them under a lock; `src/auth/lua/*.lua` are their Redis twins and must keep the same rules.
 */
import type { Revocation } from './revocation-registry';
import type { NextTokens, Presented, SessionPolicy, StoreResult } from './session-store';

/** One login (family). */
export interface SessionRecord {
  rjti: string;
  gen: number;
  /** The current access token's own exp (ms). */
  aexpMs: number;
  /** When the session ends (ms). */
  expMs: number;
  /** The refresh jti the last rotation consumed, until the new one is used ('' then). */
  prev: string;
  rotatedMs: number;
  iatS: number;
  /** Revocation of earlier generations carried by this family: until (ms). */
  genUntilMs?: number;
}

/** A subject's sessions by family id (a null-prototype object: ids are never looked up on a prototype). */
export type Sessions = Record<string, SessionRecord>;

/** An empty sessions object. */
export function emptySessions(): Sessions {
  return Object.create(null) as Sessions;
}

const result = (outcome: StoreResult['outcome'], revocations: Revocation[] = [], gen = 0, iatS = 0): StoreResult => ({ outcome, revocations, gen, iatS });

function revokeFamily(sessions: Sessions, fid: string, now: number, policy: SessionPolicy): Revocation[] {
  const record = sessions[fid];
  delete sessions[fid];
  const untilMs = Math.max(record.aexpMs + policy.toleranceMs, record.genUntilMs ?? 0);
  return untilMs > now ? [{ kind: 'f', id: fid, untilMs }] : [];
}

/** Drops expired sessions. */
export function prune(sessions: Sessions, now: number): Sessions {
  for (const fid of Object.keys(sessions)) if (sessions[fid].expMs <= now) delete sessions[fid];
  return sessions;
}

/** Records a new family, evicting (and revoking) the oldest sessions beyond the cap. */
export function issue(sessions: Sessions, fid: string, next: NextTokens, now: number, policy: SessionPolicy): StoreResult {
  prune(sessions, now);
  const revocations: Revocation[] = [];
  const fids = Object.keys(sessions);
  const over = fids.length + 1 - policy.maxSessions;
  if (over > 0) {
    const oldest = fids.sort((a, b) => sessions[a].expMs - sessions[b].expMs).slice(0, over);
    for (const old of oldest) revocations.push(...revokeFamily(sessions, old, now, policy));
  }
  sessions[fid] = { rjti: next.rjti, gen: 0, aexpMs: next.accessExpMs, expMs: now + policy.refreshTtlMs, prev: '', rotatedMs: 0, iatS: next.iatS };
  return result('ok', revocations, 0, next.iatS);
}

/** Compares `p` with its family; revokes the family on reuse. */
export function checkPresented(sessions: Sessions, p: Presented, now: number, policy: SessionPolicy): StoreResult {
  const record = sessions[p.fid];
  if (!record || record.expMs <= now) return result('unknown');
  if (record.rjti !== p.jti) return result('reuse', revokeFamily(sessions, p.fid, now, policy));
  // The current token is used: a later retry of the rotation that produced it is reuse.
  record.prev = '';
  return result('ok', [], record.gen, record.iatS);
}

export function rotate(sessions: Sessions, p: Presented, next: NextTokens, now: number, policy: SessionPolicy): StoreResult {
  const record = sessions[p.fid];
  if (record && record.expMs > now && record.rjti === next.rjti && record.prev === p.jti && now - record.rotatedMs < policy.graceMs) {
    return result('ok', [], record.gen, record.iatS); // the same rotation, retried
  }
  const checked = checkPresented(sessions, p, now, policy);
  if (checked.outcome !== 'ok') return checked;
  const old = sessions[p.fid];
  const gen = old.gen + 1;
  const genUntilMs = Math.max(old.aexpMs + policy.toleranceMs, old.genUntilMs ?? 0);
  sessions[p.fid] = { rjti: next.rjti, gen, aexpMs: next.accessExpMs, expMs: now + policy.refreshTtlMs, prev: p.jti, rotatedMs: now, iatS: next.iatS, genUntilMs };
  const revocations: Revocation[] = genUntilMs > now ? [{ kind: 'g', id: p.fid, gen, untilMs: genUntilMs }] : [];
  return result('ok', revocations, gen, next.iatS);
}

export function revoke(sessions: Sessions, p: Presented, now: number, policy: SessionPolicy, targetJti?: string): StoreResult {
  const checked = checkPresented(sessions, p, now, policy);
  if (checked.outcome !== 'ok') return checked;
  if (targetJti === undefined) return result('ok', revokeFamily(sessions, p.fid, now, policy));
  const target = Object.keys(sessions).find((fid) => sessions[fid].rjti === targetJti && sessions[fid].expMs > now);
  if (!target) return result('unknown');
  return result('ok', revokeFamily(sessions, target, now, policy));
}

export function revokeAll(sessions: Sessions, now: number, policy: SessionPolicy): { count: number; revocations: Revocation[] } {
  const fids = Object.keys(prune(sessions, now));
  return { count: fids.length, revocations: fids.flatMap((fid) => revokeFamily(sessions, fid, now, policy)) };
}
