/**
 * @module `JWTService`: issues, validates, rotates and revokes JWTs over any `Cache`. Given a
 * `RedisCache` it keeps sessions in Redis with one atomic Lua script per operation and learns other
 * processes' revocations by pub/sub; over any other cache it uses the generic store.
 * Access tokens are checked locally (signature once per token per process, expiry and the local
 * revocation registry on every use); refresh tokens against the session state in the cache.
 */
import type { Cache } from '../cache/cache';
import { RedisCache } from '../cache/redis-cache';
import { InvalidOptionError } from '../errors';
import type { TokenContext } from './jwt/context';
import { CacheSessionStore } from './jwt/cache-session-store';
import { createToken } from './jwt/create';
import { parseJWTOptions, type JWTConfig, type JWTServiceOptions } from './jwt/options';
import { RedisSessionStore } from './jwt/redis-session-store';
import { RevocationFeed } from './jwt/revocation-feed';
import { RevocationRegistry } from './jwt/revocation-registry';
import { invalidateToken, revokeAll, searchToken } from './jwt/revoke';
import { updateToken } from './jwt/rotate';
import type { AccessPayload, BaseClaims, RefreshPayload } from './jwt/types';
import { VALIDATE_CACHED, validateAccessToken, validateCachedAccessToken, validateRefreshToken } from './jwt/validate';
import { VerifiedTokenCache } from './jwt/verified-cache';
import { joinPeers } from './jwt/local-peers';
import { publicJwks, type JWKSet } from './jwks';

/** True for a `RedisCache` (or an object shaped like one: `run` and `client`). */
export function isRedisCache(cache: unknown): cache is RedisCache {
  if (cache instanceof RedisCache) return true;
  const candidate = cache as Partial<RedisCache> | null;
  return !!candidate && typeof candidate.run === 'function' && !!candidate.client;
}

/**
 * Token service, generic over the claims type (`sub: string` required), whichever the cache.
 * On `InMemoryCache` revocations are known to this process only; give a `RedisCache` when several
 * processes share tokens.
 * @example
 * const jwt = new JWTService(cache, { secretKey: makeEdKey() }) // cache: RedisCache or InMemoryCache
 * const [access, refresh] = await jwt.createToken({ sub: '123' })
 * @throws InvalidOptionError at construction for a bad option (key, algorithm, lifetimes…)
 */
export class JWTService<C extends BaseClaims = BaseClaims> {
  protected readonly ctx: TokenContext;
  private readonly feed?: RevocationFeed;

  constructor(protected readonly cache: Cache, options: JWTServiceOptions<C>) {
    if (typeof cache?.get !== 'function' || typeof cache?.set !== 'function') throw new InvalidOptionError('cache', 'is required: new JWTService(cache, options) with a RedisCache or InMemoryCache');
    const config = parseJWTOptions(options) as JWTConfig;
    const registry = new RevocationRegistry(config.maxRevocations, config.clockToleranceS * 1000);
    let store: TokenContext['store'];
    if (isRedisCache(cache)) {
      const prefix = cache.keyPrefix + config.keyPrefix;
      const channel = `${prefix}revoked`;
      store = new RedisSessionStore(cache, prefix, channel);
      this.feed = new RevocationFeed(cache, registry, prefix, channel);
    } else {
      store = new CacheSessionStore(cache, config.keyPrefix);
    }
    const peers = joinPeers(cache, config.keyPrefix, registry);
    this.ctx = { config, store, registry, peers, verified: new VerifiedTokenCache(config.verifiedTokenCacheSize) };
  }

  /** The JWS algorithm, derived from the key. */
  get algorithm(): string {
    return this.ctx.config.key.algorithm;
  }

  /** Resolves once the revocations stored in Redis were loaded (after the first connect); at once on other caches. */
  get ready(): Promise<void> {
    return this.feed?.ready ?? Promise.resolve();
  }

  /**
   * Issues `[access, refresh]` for a new login. Each token carries `exp`, `iat`, `jti`, a family id `fid`,
   * its generation `fgen` and `token_type`; reserved claims in `claims` are replaced. Beyond
   * `maxSessionsPerSubject` live logins of the subject, the oldest is ended and revoked.
   * @throws InvalidClaimsError (bad `sub`, shape, or a token above `MAX_TOKEN_LENGTH`; nothing is stored), CacheUnavailableError
   */
  createToken(claims: C): Promise<[string, string]> {
    return createToken(this.ctx, claims);
  }

  /** The payload of a valid, unexpired, unrevoked access token; null for anything else. Never throws. */
  validateAccessToken(token: string): Promise<AccessPayload<C> | null> {
    return validateAccessToken(this.ctx, token) as Promise<AccessPayload<C> | null>;
  }

  /**
   * `validateAccessToken` for a token this process already verified, with no await; undefined
   * otherwise (internal, for `JWTBackend`). A subclass that overrides `validateAccessToken` (extra
   * checks) is always asked through its override.
   */
  [VALIDATE_CACHED](token: string): AccessPayload<C> | null | undefined {
    if (this.validateAccessToken !== JWTService.prototype.validateAccessToken) return undefined;
    return validateCachedAccessToken(this.ctx, token) as AccessPayload<C> | null | undefined;
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
   * Rotates: a new pair for the same session; the old refresh token and the access tokens issued
   * before are dead afterwards. `updateToken(refresh)` re-issues the claims the refresh token carries;
   * `updateToken(claims, refresh)` issues `claims` (their `sub` must be the token's). Null when `refresh`
   * is invalid, not current, or another subject's. After an `OutcomeUnknownError`, calling again with the
   * same refresh token within `rotationGraceTime` answers the same pair.
   * @throws InvalidClaimsError, CacheUnavailableError, OutcomeUnknownError
   */
  updateToken(refresh: string): Promise<[string, string] | null>;
  updateToken(claims: C, refresh: string): Promise<[string, string] | null>;
  updateToken(claimsOrRefresh: C | string, refresh?: string): Promise<[string, string] | null> {
    if (refresh === undefined && typeof claimsOrRefresh === 'string') return updateToken(this.ctx, undefined, claimsOrRefresh);
    return updateToken(this.ctx, claimsOrRefresh as C, refresh);
  }

  /**
   * Ends `refresh`'s session (its access tokens too), or with `jti` the same subject's session whose
   * refresh token has that jti.
   * @returns false for an invalid or unknown token, or when nothing was ended
   * @throws CacheUnavailableError, OutcomeUnknownError
   */
  invalidateToken(refresh: string, jti?: string): Promise<boolean> {
    return invalidateToken(this.ctx, refresh, jti);
  }

  /**
   * The refresh-token jtis of the live sessions of `refresh`'s subject (empty for an invalid token).
   * @throws CacheUnavailableError
   */
  searchToken(refresh: string): Promise<string[]> {
    return searchToken(this.ctx, refresh);
  }

  /** Logs `sub` out everywhere (one revocation message). @returns the number of sessions ended */
  revokeAll(sub: string): Promise<number> {
    return revokeAll(this.ctx, sub);
  }

  /**
   * The public JWK Set of the current and previous keys (`kid`, `alg`, `use: 'sig'`), for `jwksHandler`.
   * HMAC keys are never published: a service signing with a secret gives `{ keys: [] }`.
   */
  jwks(): Promise<JWKSet> {
    return publicJwks(this.ctx.config);
  }

  /** Stops timers and listeners (not the cache: its owner closes it). */
  async close(): Promise<void> {
    await this.feed?.close();
    this.ctx.registry.close();
    this.ctx.peers.delete(this.ctx.registry);
    this.ctx.verified.clear();
    await this.ctx.store.close();
  }
}
