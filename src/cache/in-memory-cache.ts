/**
 * @module `InMemoryCache`: the embedded default, so examples and tests run with no server.
 * One process only — do not use it in production where several processes must agree.
 * Memory stays bounded: expired entries are dropped on read and by one unref'd sweep timer
 * (no timer per key), and past `maxEntries` the least recently written entry is evicted.
 * Locks live in their own bounded table (`maxLocks`), so no write can evict a held lock.
 */
import { CacheUnavailableError, InvalidOptionError } from '../errors';
import { WriteOrderedMap } from '../utils/write-ordered-map';
import type { Cache, Lock, LockOptions, SetOptions } from './cache';
import { heldLock, lockToken, parseLockOptions } from './lock';
import { LockTable } from './lock-table';
import { expiresAt, parseSetOptions } from './set-options';
import { checkOptions } from '../utils/options';

/** Options of `InMemoryCache`. */
export interface InMemoryCacheOptions {
  /** Entries kept at most; the least recently written is evicted beyond it. @default 100000 */
  maxEntries?: number;
  /**
   * Locks held or waited for at most. Locks live apart from entries and are never evicted; beyond
   * this `lock()` refuses with `LockLimitError`. @default 10000
   */
  maxLocks?: number;
  /** How often expired entries are swept. @default 10000 */
  sweepIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * A `Cache` in this process's memory.
 * @example const cache = new InMemoryCache({ maxEntries: 10_000 })
 */
export class InMemoryCache implements Cache {
  readonly maxEntries: number;
  private readonly entries: WriteOrderedMap<string, Entry>;
  private readonly locks: LockTable;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;

  constructor(options: InMemoryCacheOptions = {}) {
    checkOptions(options, ['maxEntries', 'maxLocks', 'sweepIntervalMs', 'now'], 'InMemoryCache');
    const { maxEntries = 100_000, maxLocks = 10_000, sweepIntervalMs = 10_000, now = Date.now } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InvalidOptionError('maxEntries', 'must be a positive integer');
    if (!Number.isInteger(maxLocks) || maxLocks < 1) throw new InvalidOptionError('maxLocks', 'must be a positive integer');
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) throw new InvalidOptionError('sweepIntervalMs', 'must be a positive number');
    this.maxEntries = maxEntries;
    this.entries = new WriteOrderedMap(maxEntries);
    this.locks = new LockTable(maxLocks, now);
    this.now = now;
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  /** Always ready: resolves at once (the same call as `RedisCache.ready`). */
  async ready(): Promise<void> {}

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    const { expiry, nx } = parseSetOptions(options);
    if (nx && this.live(key)) return false;
    this.entries.set(key, { value: String(value), expiresAt: expiresAt(expiry, this.now()) });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.live(key) !== undefined && this.entries.delete(key);
  }

  /** Waits first come, first served; a held lock is never evicted. @throws LockTimeoutError, LockLimitError */
  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const { ttlMs, timeoutMs } = parseLockOptions(options);
    const token = lockToken();
    await this.locks.acquire(key, token, ttlMs, timeoutMs);
    return heldLock(key, token, {
      release: async (t) => this.locks.release(key, t),
      extend: async (t, ms) => this.locks.extend(key, t, ms),
    });
  }

  /** Drops every expired entry. Runs on the timer; callable by tests. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    this.locks.sweep();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.entries.clear();
    this.locks.clear(new CacheUnavailableError('the cache was closed while waiting for a lock'));
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
