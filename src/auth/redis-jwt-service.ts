/**
 * @module `RedisJWTService`: the `JWTService` contract with every state change in one atomic Lua
 * script, plus `searchToken` and ending a chosen session. Revocations reach every process through
 * pub/sub (and a reload on every reconnect), so access validation never waits on Redis.
 */
import type { RedisCache } from '../cache/redis-cache';
import { InvalidOptionError } from '../errors';
import { JWTService } from './jwt-service';
import type { JWTServiceOptions } from './jwt/options';
import { RedisSessionStore } from './jwt/redis-session-store';
import { RevocationFeed } from './jwt/revocation-feed';
import { invalidateToken } from './jwt/revoke';
import type { BaseClaims } from './jwt/types';
import { verifyToken } from './jwt/verify';

/**
 * @example
 * const jwt = new RedisJWTService(new RedisCache(process.env.REDIS_URL!), { secretKey: makeEdKey() })
 * @throws InvalidOptionError when `cache` is not a RedisCache, or for a bad option
 */
export class RedisJWTService<C extends BaseClaims = BaseClaims> extends JWTService<C> {
  private readonly feed: RevocationFeed;

  constructor(cache: RedisCache, options: JWTServiceOptions<C>) {
    if (!cache || typeof (cache as RedisCache).run !== 'function' || !(cache as RedisCache).client) {
      throw new InvalidOptionError('cache', 'RedisJWTService needs a RedisCache');
    }
    super(cache, options);
    const prefix = cache.keyPrefix + this.ctx.config.keyPrefix;
    const channel = `${prefix}revoked`;
    this.ctx.store = new RedisSessionStore(cache, prefix, channel);
    this.feed = new RevocationFeed(cache, this.ctx.registry, prefix, channel);
  }

  /** Resolves once the revocations stored in Redis were loaded (after the first connect). */
  get ready(): Promise<void> {
    return this.feed.ready;
  }

  /**
   * The refresh-token jtis of the live sessions of `refresh`'s subject (empty for an invalid token).
   * @throws CacheUnavailableError
   */
  async searchToken(refresh: string): Promise<string[]> {
    const payload = await verifyToken(this.ctx.config, refresh, 'refresh');
    if (!payload) return [];
    const live = await this.ctx.store.search(payload.sub);
    return live.includes(payload.jti) ? live : [];
  }

  /**
   * Ends `refresh`'s session, or with `jti` the same subject's session whose refresh token has that jti.
   * @returns false when nothing was ended
   */
  override invalidateToken(refresh: string, jti?: string): Promise<boolean> {
    return invalidateToken(this.ctx, refresh, jti);
  }

  override async close(): Promise<void> {
    await this.feed.close();
    await super.close();
  }
}
