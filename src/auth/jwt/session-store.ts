/**
 * @module Where refresh-token state lives. One record per login (family `fid`) under its subject:
 * the current refresh jti and the access jti issued with it. A presented refresh token is live when
 * its family exists and its jti is the current one; a family that exists with ANOTHER current jti
 * means the token was already rotated — reuse (RFC 9700 §4.14) — and the family is revoked.
 */
import type { Revocation } from './revocation-registry';

/** A presented refresh token, after its signature was verified. */
export interface Presented {
  sub: string;
  fid: string;
  jti: string;
}

/** `ok`: done; `unknown`: no live session (expired, revoked, never issued); `reuse`: replay detected, family revoked. */
export type Outcome = 'ok' | 'unknown' | 'reuse';

/** An outcome and the access-token revocations it caused (to apply locally at once). */
export interface StoreResult {
  outcome: Outcome;
  revocations: Revocation[];
}

/** Lifetimes in ms, passed with every call. */
export interface Lifetimes {
  refreshTtlMs: number;
  accessTtlMs: number;
}

/** Storage of sessions; implemented over any `Cache`, and over Redis with one Lua script per operation. */
export interface SessionStore {
  issue(sub: string, fid: string, rjti: string, ajti: string, ttl: Lifetimes): Promise<void>;
  /** Replaces the family's current tokens if `p` is current. */
  rotate(p: Presented, rjti: string, ajti: string, ttl: Lifetimes): Promise<StoreResult>;
  /** Whether `p` is current (a stale one is reuse: the family is revoked). */
  check(p: Presented, ttl: Lifetimes): Promise<StoreResult>;
  /** Ends `p`'s session, or — with `targetJti` — the subject's session whose current refresh jti it is. */
  revoke(p: Presented, ttl: Lifetimes, targetJti?: string): Promise<StoreResult>;
  /** Ends every session of `sub`; resolves with how many. */
  revokeAll(sub: string, ttl: Lifetimes): Promise<{ count: number; revocations: Revocation[] }>;
  /** Current refresh jtis of `sub`'s live sessions. */
  search(sub: string): Promise<string[]>;
  close(): Promise<void>;
}
