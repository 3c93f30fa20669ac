/** @module Picks the rate-limit store for a cache: Redis with a failure policy, or memory. */
import type { Cache } from '../cache/cache';
import type { Logger } from '../cache/redis-cache';
import { RedisCache } from '../cache/redis-cache';
import { ResilientStore, type FailurePolicy } from './failure-policy';
import { MemoryStore } from './memory-store';
import { RedisStore } from './redis-store';
import type { RateLimitStore } from './store';
import { checkOptions } from '../utils/options';

/** Options of `createStore`. */
export interface CreateStoreOptions {
  /** @default 'memory' */
  onFailure?: FailurePolicy;
  /** Bound on one call to a connected Redis. @default the cache's `commandTimeoutMs` (1000) */
  timeoutMs?: number;
  logger?: Logger;
}

// One memory store per cache object, so every middleware on the same cache shares its counts.
const memoryStores = new WeakMap<Cache, MemoryStore>();

/** `RedisCache` → Lua store behind the failure policy; any other cache → its shared `MemoryStore`. */
export function createStore(cache: Cache, options: CreateStoreOptions = {}): RateLimitStore {
  checkOptions(options, ['onFailure', 'timeoutMs', 'logger'], 'createStore');
  const { onFailure = 'memory', timeoutMs, logger } = options;
  if (cache instanceof RedisCache) return new ResilientStore(new RedisStore(cache, { timeoutMs }), { onFailure, logger });
  let store = memoryStores.get(cache);
  if (!store) {
    store = new MemoryStore();
    memoryStores.set(cache, store);
  }
  return store;
}
