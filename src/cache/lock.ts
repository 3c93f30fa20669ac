/**
 * @module Owner-token locks. One waiting loop shared by every cache: try, then back off
 * exponentially with full jitter (so contenders don't retry in lockstep) until `timeoutMs`.
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, LockTimeoutError } from '../errors';
import type { Lock, LockOptions } from './cache';

/** Lock defaults. */
export const LOCK_DEFAULTS = { ttlMs: 10_000, timeoutMs: 5_000 } as const;
const MAX_BACKOFF_MS = 100;

/** A fresh owner token (128 bits). */
export function lockToken(): string {
  return randomBytes(16).toString('hex');
}

/** Validates lock options once. @throws InvalidOptionError */
export function parseLockOptions(options: LockOptions = {}): Required<LockOptions> {
  const { ttlMs = LOCK_DEFAULTS.ttlMs, timeoutMs = LOCK_DEFAULTS.timeoutMs } = options;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new InvalidOptionError('ttlMs', 'must be a positive integer (milliseconds)');
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new InvalidOptionError('timeoutMs', 'must be a non-negative number (milliseconds)');
  return { ttlMs, timeoutMs };
}

/**
 * Calls `tryAcquire(token)` until it succeeds or `timeoutMs` passes.
 * @throws LockTimeoutError
 */
export async function acquireLock(
  key: string,
  options: LockOptions | undefined,
  tryAcquire: (token: string, ttlMs: number) => Promise<boolean>,
  release: (token: string) => Promise<boolean>,
): Promise<Lock> {
  const { ttlMs, timeoutMs } = parseLockOptions(options);
  const token = lockToken();
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryAcquire(token, ttlMs)) {
      return { key, token, release: () => release(token) };
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError(`lock "${key}" not acquired within ${timeoutMs} ms`);
    const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt * 5);
    await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, left)));
  }
}
