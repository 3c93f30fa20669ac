/**
 * @module The `Cache` interface every store implements: Redis in production, memory by default.
 * Auth and throttling depend only on this interface (plus the Redis-optimised paths that
 * check for `RedisCache` explicitly).
 */

/** Expiry and condition for `Cache.set`, with Redis SET semantics. At most one of ex/px/exat. */
export interface SetOptions {
  /** Expire after this many seconds. */
  ex?: number;
  /** Expire after this many milliseconds. */
  px?: number;
  /** Expire at this Unix time, in seconds. */
  exat?: number;
  /** Only set when the key does not exist. */
  nx?: boolean;
}

/** Options of `Cache.lock`. */
export interface LockOptions {
  /** How long the lock lives if never released. @default 10000 */
  ttlMs?: number;
  /** How long to wait for the lock before `LockTimeoutError`; 0 tries once. @default 5000 */
  timeoutMs?: number;
}

/** Options of `Cache.ready`. */
export interface ReadyOptions {
  /** How long to wait for the backing server. @default 5000 */
  timeoutMs?: number;
}

/** A held lock. Only its holder (the token) can release it. */
export interface Lock {
  readonly key: string;
  /** Random owner token; release compares it and deletes atomically. */
  readonly token: string;
  /**
   * Makes the lock live `ttlMs` more milliseconds from now, if still held by this token.
   * @returns false when it had expired or was taken by another (then stop: you no longer hold it)
   * @throws InvalidOptionError for a bad `ttlMs`; CacheUnavailableError when Redis does not answer
   */
  extend(ttlMs: number): Promise<boolean>;
  /** Releases the lock if still held by this token. @returns false if it had expired or was taken by another. */
  release(): Promise<boolean>;
}

/** A key-value cache with expiry and owner-token locks. Values are strings. */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** @returns false when `nx` was set and the key existed (nothing written), else true. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** @returns true when a key was deleted. */
  delete(key: string): Promise<boolean>;
  /**
   * Acquires `key`, waiting at most `timeoutMs` (in memory: first come, first served).
   * For work that may outlive the ttl, use `withLock`, which extends the lock while the work runs.
   * @throws LockTimeoutError; LockLimitError (in memory, when `maxLocks` are held or waiting)
   */
  lock(key: string, options?: LockOptions): Promise<Lock>;
  /**
   * Resolves once the cache can serve (at once in memory); for Redis, rejects with
   * `CacheUnavailableError` naming `host:port` after `timeoutMs`. Optional for custom caches.
   * @throws CacheUnavailableError
   */
  ready?(options?: ReadyOptions): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
