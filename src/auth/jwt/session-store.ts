/**
 * @module Where refresh-token state lives. One record per login (family `fid`) under its subject: the
 * current refresh jti, the family's generation (carried by its tokens as `fgen`), the current access
 * token's own exp, and the last rotation (for retries). A presented refresh token is live when its
 * family exists and its jti is the current one; a family that exists with ANOTHER current jti means
 * the token was already rotated — reuse (RFC 9700 §4.14) — and the family is revoked, except for a
 * retry of the same rotation within the grace, before the new refresh token was used.
 * A subject holds at most `maxSessions` live families; the oldest is evicted and revoked.
 */
import type { Revocation } from './revocation-registry';

/** A presented refresh token, after its signature was verified. */
export interface Presented {
  sub: string;
  fid: string;
  jti: string;
}

/** What the store records of a newly signed pair. */
export interface NextTokens {
  /** The new refresh token's jti. */
  rjti: string;
  /** The new access token's own exp, in epoch ms. */
  accessExpMs: number;
  /** The pair's iat, in epoch seconds. */
  iatS: number;
}

/** `ok`: done; `unknown`: no live session (expired, revoked, never issued); `reuse`: replay detected, family revoked. */
export type Outcome = 'ok' | 'unknown' | 'reuse';

/** An outcome, the family's generation and pair iat (for `ok` rotations) and the revocations it caused. */
export interface StoreResult {
  outcome: Outcome;
  /** For `rotate`/`issue`: the generation the pair must carry. */
  gen: number;
  /** For `rotate`/`issue`: the iat the pair must carry (a retried rotation answers the first attempt's). */
  iatS: number;
  revocations: Revocation[];
}

/** The rules every call applies, in ms. */
export interface SessionPolicy {
  refreshTtlMs: number;
  /** Added to a revoked access token's own exp: how long its revocation lasts. */
  toleranceMs: number;
  /** Live sessions per subject; the oldest is evicted and revoked beyond it. */
  maxSessions: number;
  /** How long a retried rotation (same presented refresh token) answers the same pair; 0: never. */
  graceMs: number;
}

/** Storage of sessions; implemented over any `Cache`, and over Redis with one Lua script per operation. */
export interface SessionStore {
  /** Records a new family at generation 0 (evicting the subject's oldest beyond the cap). */
  issue(sub: string, fid: string, next: NextTokens, policy: SessionPolicy): Promise<StoreResult>;
  /** Moves the family to `next` if `p` is current (or answers the same rotation again within the grace). */
  rotate(p: Presented, next: NextTokens, policy: SessionPolicy): Promise<StoreResult>;
  /** Whether `p` is current (a stale one is reuse: the family is revoked). */
  check(p: Presented, policy: SessionPolicy): Promise<StoreResult>;
  /** Ends `p`'s session, or — with `targetJti` — the subject's session whose current refresh jti it is. */
  revoke(p: Presented, policy: SessionPolicy, targetJti?: string): Promise<StoreResult>;
  /** Ends every session of `sub`; resolves with how many. */
  revokeAll(sub: string, policy: SessionPolicy): Promise<{ count: number; revocations: Revocation[] }>;
  /** Current refresh jtis of `sub`'s live sessions. */
  search(sub: string, policy: SessionPolicy): Promise<string[]>;
  close(): Promise<void>;
}
