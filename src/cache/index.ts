/** @module webtool/cache: the `Cache` interface, its Redis and in-memory implementations, and locks. */
export type { Cache, Lock, LockOptions, ReadyOptions, SetOptions } from './cache';
export { InMemoryCache, type InMemoryCacheOptions } from './in-memory-cache';
export { RedisCache, type Logger, type RedisCacheOptions } from './redis-cache';
export { LOCK_DEFAULTS } from './lock';
export { withLock, type WithLockOptions } from './with-lock';
export * from '../errors';
