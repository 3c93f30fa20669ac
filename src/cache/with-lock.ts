/**
 * @module `withLock`: runs work under a lock that is extended while the work runs and released
 * after it, so a slow holder does not silently pass the lock to a second owner when its ttl ends
 * (issue 13 item 8). When the lock is lost anyway (Redis lost the key, the process stalled past
 * the ttl), the work's `signal` aborts and `withLock` rejects with `LockLostError`.
 */
import { InvalidOptionError, LockLostError } from '../errors';
import type { Cache, LockOptions } from './cache';
import { parseLockOptions } from './lock';

/** Options of `withLock`. */
export interface WithLockOptions extends LockOptions {
  /** How often the lock is extended by `ttlMs` while the work runs; below `ttlMs`. @default ttlMs / 3 */
  extendEveryMs?: number;
}

/**
 * Acquires `key`, runs `fn`, extends the lock every `extendEveryMs` while `fn` runs, then releases it.
 * @returns what `fn` returned
 * @throws what `fn` threw; else `LockLostError` when the lock expired or passed to another owner
 *   before `fn` finished (`signal` was aborted then: check it before writing); `LockTimeoutError`,
 *   `LockLimitError` or `CacheUnavailableError` from acquiring
 * @example
 * await withLock(cache, `invoice:${id}`, async (signal) => {
 *   const invoice = await load(id);
 *   if (!signal.aborted) await save(invoice);
 * }, { ttlMs: 5000 });
 */
export async function withLock<T>(cache: Cache, key: string, fn: (signal: AbortSignal) => T | Promise<T>, options: WithLockOptions = {}): Promise<T> {
  const { ttlMs } = parseLockOptions(options);
  const { extendEveryMs = Math.max(1, Math.floor(ttlMs / 3)) } = options;
  if (!Number.isFinite(extendEveryMs) || extendEveryMs <= 0 || extendEveryMs >= ttlMs) {
    throw new InvalidOptionError('extendEveryMs', `must be a positive number below ttlMs (${ttlMs})`);
  }
  const lock = await cache.lock(key, options);
  const controller = new AbortController();
  const lose = () => controller.abort(new LockLostError(`lock "${key}" was lost while its work ran`));
  let heldUntil = Date.now() + ttlMs;
  let extending = false;
  const timer = setInterval(() => {
    if (controller.signal.aborted) return;
    if (Date.now() >= heldUntil) return lose();
    if (extending) return;
    extending = true;
    const started = Date.now();
    lock
      .extend(ttlMs)
      .then((held) => (held ? (heldUntil = started + ttlMs) : lose()))
      // Redis silent: the lock is ours until heldUntil at most; the next tick decides.
      .catch(() => {})
      .finally(() => (extending = false));
  }, extendEveryMs);
  let result: T;
  try {
    result = await fn(controller.signal);
  } finally {
    clearInterval(timer);
    const released = await lock.release().catch(() => false);
    if (!released && !controller.signal.aborted) lose();
  }
  if (controller.signal.aborted) throw controller.signal.reason as LockLostError;
  return result;
}
