/**
 * @module `RedisJWTService`: kept for compatibility. `JWTService` picks the Redis session store by
 * itself when given a `RedisCache`; this subclass only insists on one.
 */
import type { RedisCache } from '../cache/redis-cache';
import { InvalidOptionError } from '../errors';
import { isRedisCache, JWTService } from './jwt-service';
import type { JWTServiceOptions } from './jwt/options';
import type { BaseClaims } from './jwt/types';

/**
 * A `JWTService` that refuses any cache but a `RedisCache`.
 * @deprecated Use `new JWTService(redisCache, options)`.
 * @throws InvalidOptionError when `cache` is not a RedisCache, or for a bad option
 */
export class RedisJWTService<C extends BaseClaims = BaseClaims> extends JWTService<C> {
  constructor(cache: RedisCache, options: JWTServiceOptions<C>) {
    if (!isRedisCache(cache)) throw new InvalidOptionError('cache', 'RedisJWTService needs a RedisCache');
    super(cache, options);
  }
}
