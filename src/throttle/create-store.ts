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
  /** Bound on one call to a connected Redis. @default 5000 (`DEFAULT_STORE_TIMEOUT_MS`) */
  timeoutMs?: number;
  logger?: Logger;
}

// One memory store per cache object, so every middleware on the same cache shares its counts.
const memoryStores = new WeakMap<Cache, MemoryStore>();

/** `RedisCache` → Lua store behind the failure policy; any other cache → its shared `MemoryStore`. */
export function createStore(cache: Cache, options: CreateStoreOptions = {}): RateLimitStore {
  checkOptions(options, ['onFailure', 'timeoutMs', 'logger'], 'createStore');
  const { onFailure = 'memory', timeoutMs, logger } = options;
  if (cache instanceof RedisCache) return new ResilientStore(sharedRedisStore(cache, timeoutMs), { onFailure, logger, fallback: onFailure === 'memory' ? sharedMemoryStore(cache) : undefined });
  return sharedMemoryStore(cache);
}

// Per RedisCache, one RedisStore per timeout: its listeners sit on the shared client, so twelve
// middlewares (one per router) add one pair, not twelve.
const redisStores = new WeakMap<RedisCache, Map<number | undefined, RedisStore>>();

function sharedRedisStore(cache: RedisCache, timeoutMs: number | undefined): RedisStore {
  let byTimeout = redisStores.get(cache);
  if (!byTimeout) redisStores.set(cache, (byTimeout = new Map()));
  let store = byTimeout.get(timeoutMs);
  if (!store) byTimeout.set(timeoutMs, (store = new RedisStore(cache, { timeoutMs })));
  return store;
}

/** The cache's in-process counts: InMemoryCache's store, or a RedisCache's fallback during an outage (one sweep timer). */
function sharedMemoryStore(cache: Cache): MemoryStore {
  let store = memoryStores.get(cache);
  if (!store) {
    store = new MemoryStore();
    memoryStores.set(cache, store);
  }
  return store;
}
