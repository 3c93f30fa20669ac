/**
 * @module `JWTService`: issues, validates, rotates and revokes JWTs over any `Cache`.
 * Access tokens are checked locally (signature once per token per process, expiry and the local
 * revocation registry on every use); refresh tokens against the session state in the cache.
 */
import type { Cache } from '../cache/cache';
import { InvalidOptionError } from '../errors';
import type { TokenContext } from './jwt/context';
import { CacheSessionStore } from './jwt/cache-session-store';
import { createToken } from './jwt/create';
import { parseJWTOptions, type JWTConfig, type JWTServiceOptions } from './jwt/options';
import { RevocationRegistry } from './jwt/revocation-registry';
import { invalidateToken, revokeAll } from './jwt/revoke';
import { updateToken } from './jwt/rotate';
import type { AccessPayload, BaseClaims, RefreshPayload } from './jwt/types';
import { validateAccessToken, validateRefreshToken } from './jwt/validate';
import { VerifiedTokenCache } from './jwt/verified-cache';

/**
 * Token service, generic over the claims type (`sub: string` required).
 * On `InMemoryCache` revocations are known to this process only; use `RedisJWTService` when
 * several processes share tokens.
 * @example
 * const jwt = new JWTService(new InMemoryCache(), { secretKey: makeEdKey() })
 * const [access, refresh] = await jwt.createToken({ sub: '123' })
 * @throws InvalidOptionError at construction for a bad option (key, algorithm, lifetimes…)
 */
export class JWTService<C extends BaseClaims = BaseClaims> {
  protected readonly ctx: TokenContext & { store: TokenContext['store'] };

  constructor(protected readonly cache: Cache, options: JWTServiceOptions<C>) {
    if (typeof cache?.get !== 'function' || typeof cache?.set !== 'function') throw new InvalidOptionError('cache', 'is required: new JWTService(cache, options) with a RedisCache or InMemoryCache');
    const config = parseJWTOptions(options) as JWTConfig;
    this.ctx = {
      config,
      store: new CacheSessionStore(cache, config.keyPrefix),
      registry: new RevocationRegistry(),
      verified: new VerifiedTokenCache(config.verifiedTokenCacheSize),
    };
  }

  /** The JWS algorithm, derived from the key. */
  get algorithm(): string {
    return this.ctx.config.key.algorithm;
  }

  /**
   * Issues `[access, refresh]` for a new login. Each token carries `exp`, `iat`, `jti`, a family id `fid`
   * and `token_type`; reserved claims in `claims` are replaced.
   * @throws InvalidClaimsError, CacheUnavailableError
   */
  createToken(claims: C): Promise<[string, string]> {
    return createToken(this.ctx, claims);
  }

  /** The payload of a valid, unexpired, unrevoked access token; null for anything else. Never throws. */
  validateAccessToken(token: string): Promise<AccessPayload<C> | null> {
    return validateAccessToken(this.ctx, token) as Promise<AccessPayload<C> | null>;
  }

  /**
   * The payload of a refresh token that is its session's current one; null for anything else
   * (presenting an already-rotated one revokes its whole family).
   * @throws CacheUnavailableError when the store cannot answer — an outage is not "invalid"
   */
  validateRefreshToken(token: string): Promise<RefreshPayload<C> | null> {
    return validateRefreshToken(this.ctx, token) as Promise<RefreshPayload<C> | null>;
  }

  /**
   * Rotates: a new pair for the same session; the old refresh token and the access token issued
   * with it are dead afterwards. Null when `refresh` is invalid, not current, or not `claims.sub`'s.
   * @throws InvalidClaimsError, CacheUnavailableError
   */
  updateToken(claims: C, refresh: string): Promise<[string, string] | null> {
    return updateToken(this.ctx, claims, refresh);
  }

  /** Ends the session of `refresh` (its access token too). @returns false for an invalid or unknown token */
  invalidateToken(refresh: string): Promise<boolean> {
    return invalidateToken(this.ctx, refresh);
  }

  /** Logs `sub` out everywhere. @returns the number of sessions ended */
  revokeAll(sub: string): Promise<number> {
    return revokeAll(this.ctx, sub);
  }

  /** Stops timers and listeners (not the cache: its owner closes it). */
  async close(): Promise<void> {
    this.ctx.registry.close();
    this.ctx.verified.clear();
    await this.ctx.store.close();
  }
}
