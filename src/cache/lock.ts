/**
 * @module Owner-token locks. Redis locks wait with one polling loop: try, then back off
 * exponentially with full jitter (so contenders don't retry in lockstep) until `timeoutMs`.
 * In-memory locks wait in a FIFO queue instead (`lock-table.ts`).
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, LockTimeoutError } from '../errors';
import type { Lock, LockOptions } from './cache';
import { checkOptions } from '../utils/options';

/** Lock defaults. */
export const LOCK_DEFAULTS = { ttlMs: 10_000, timeoutMs: 5_000 } as const;
const MAX_BACKOFF_MS = 100;

/** A fresh owner token (128 bits). */
export function lockToken(): string {
  return randomBytes(16).toString('hex');
}

/** Validates a lock ttl (acquire or extend). @throws InvalidOptionError */
export function parseTtlMs(ttlMs: unknown): number {
  if (!Number.isInteger(ttlMs) || (ttlMs as number) <= 0) throw new InvalidOptionError('ttlMs', 'must be a positive integer (milliseconds)');
  return ttlMs as number;
}

/** Validates lock options once. @throws InvalidOptionError */
export function parseLockOptions(options: LockOptions = {}): Required<LockOptions> {
  checkOptions(options, ['ttlMs', 'timeoutMs'], 'lock');
  const { ttlMs = LOCK_DEFAULTS.ttlMs, timeoutMs = LOCK_DEFAULTS.timeoutMs } = options;
  parseTtlMs(ttlMs);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new InvalidOptionError('timeoutMs', 'must be a non-negative number (milliseconds)');
  return { ttlMs, timeoutMs };
}

/** What a cache does for one held lock, by owner token. */
export interface LockOps {
  release(token: string): Promise<boolean>;
  extend(token: string, ttlMs: number): Promise<boolean>;
}

/** The `Lock` handed to the holder. */
export function heldLock(key: string, token: string, ops: LockOps): Lock {
  return {
    key,
    token,
    release: () => ops.release(token),
    extend: async (ttlMs) => ops.extend(token, parseTtlMs(ttlMs)),
  };
}

/**
 * Calls `tryAcquire(token)` until it succeeds or `timeoutMs` passes.
 * @throws LockTimeoutError
 */
export async function acquireLock(key: string, options: LockOptions | undefined, tryAcquire: (token: string, ttlMs: number) => Promise<boolean>, ops: LockOps): Promise<Lock> {
  const { ttlMs, timeoutMs } = parseLockOptions(options);
  const token = lockToken();
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryAcquire(token, ttlMs)) return heldLock(key, token, ops);
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError(`lock "${key}" not acquired within ${timeoutMs} ms`);
    const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt * 5);
    await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, left)));
  }
}
