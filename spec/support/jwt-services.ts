/**
 * @module The fixture of the token-service specs that run on both caches: a fresh cache per test,
 * services made from it with the spec's key, all closed (and the cache) after each test.
 */
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { quietLogger } from './app-factory';
import { redisUrl, uniquePrefix } from './redis';

/** Both caches, each test's Redis keys under a prefix of its own. */
export function tokenCaches(prefix: string): { name: string; make: () => Promise<Cache> }[] {
  return [
    { name: 'InMemoryCache', make: async () => new InMemoryCache() },
    { name: 'RedisCache', make: async () => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix(prefix), logger: quietLogger }) },
  ];
}

/**
 * Registers beforeEach/afterEach hooks in the calling `describe`; `make(options)` builds a JWTService
 * on the current test's cache, `cache()` returns that cache.
 */
export function useJWTServices(makeCache: () => Promise<Cache>, secretKey: string): { cache: () => Cache; make: (options?: Record<string, unknown>) => JWTService } {
  let cache: Cache;
  const services: JWTService[] = [];
  beforeEach(async () => {
    cache = await makeCache();
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    await cache.close();
  });
  return {
    cache: () => cache,
    make: (options = {}) => {
      const jwt = new JWTService(cache, { secretKey, ...options });
      services.push(jwt);
      return jwt;
    },
  };
}
