/**
 * @module `limitMiddleware`: the global rate-limit middleware. It composes `identify()` (reusing an
 * identity already resolved on the request) and records the configuration the limiters count with.
 * Rules themselves live on routes (`limiter`, `@Limiter`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cache } from '../cache/cache';
import type { Logger } from '../cache/redis-cache';
import type { AuthBackend } from '../auth/backends/backend';
import { createIdentifier, isBackend, legacyChain } from '../auth/identify';
import { InvalidOptionError } from '../errors';
import { setEngine, type LimitEngine, type LimitHandler } from './context';
import { createStore } from './create-store';
import type { FailurePolicy } from './failure-policy';
import type { RequestFn } from './rule';
import type { RateLimitStore } from './store';
import { checkOptions } from '../utils/options';
import { whenSettled } from '../utils/maybe-async';

/** Options of `limitMiddleware` / `LimitMiddleware`. */
export interface LimitMiddlewareOptions {
  /** Where counts live: `RedisCache` (shared, one Lua call per request) or `InMemoryCache`. */
  cache: Cache;
  /** Authenticates users (e.g. `new JWTBackend(jwt)`). */
  authBackend?: AuthBackend;
  /** Identifies anonymous callers; false for none (they are then counted by IP). @default new AnnoSessionBackend() */
  annoBackend?: AuthBackend | false;
  /** An explicit chain instead of authBackend + annoBackend. */
  backends?: AuthBackend[];
  /** A store of your own instead of the one made from `cache`. */
  store?: RateLimitStore;
  /** When the Redis store fails: serve (`open`), 503 (`closed`) or limit in memory (`memory`). @default 'memory' */
  onStoreFailure?: FailurePolicy;
  /** A call to a connected Redis that has not answered by then fails (a lost connection fails at once). @default 5000 */
  storeTimeoutMs?: number;
  /** Prefix of rate-limit keys (short: there is one key per identity and rule). @default 'wt:' */
  keyPrefix?: string;
  /** `RateLimit-Policy` and `RateLimit` fields. @default true */
  standardHeaders?: boolean;
  /** `X-RateLimit-Limit/Remaining/Reset`. @default false */
  legacyHeaders?: boolean;
  /** Answers limited requests instead of the default 429 problem response. */
  handler?: LimitHandler;
  /** Return true to exempt a request from every limit (an allow-list). */
  skip?: RequestFn<boolean>;
  /** IPv6 prefix length of the IP fallback and of the default `AnnoSessionBackend` (1–128 or false). @default 56 */
  ipv6Subnet?: number | false;
  /** @default console */
  logger?: Logger;
}

/** Validates the options once. @throws InvalidOptionError naming the option */
export function parseLimitOptions(options: LimitMiddlewareOptions): { engine: LimitEngine; backends: AuthBackend[] } {
  checkOptions(options, ['cache', 'authBackend', 'annoBackend', 'backends', 'store', 'onStoreFailure', 'storeTimeoutMs', 'keyPrefix', 'standardHeaders', 'legacyHeaders', 'handler', 'skip', 'logger', 'ipv6Subnet'], 'limitMiddleware');
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object with a cache');
  const { cache, authBackend, annoBackend, backends, store, onStoreFailure = 'memory', storeTimeoutMs } = options;
  if (!cache || typeof cache.get !== 'function') throw new InvalidOptionError('cache', 'is required (a RedisCache or InMemoryCache)');
  if (backends !== undefined && (authBackend !== undefined || annoBackend !== undefined)) {
    throw new InvalidOptionError('backends', 'give either backends or authBackend/annoBackend, not both');
  }
  if (backends !== undefined && (!Array.isArray(backends) || !backends.every(isBackend))) throw new InvalidOptionError('backends', 'must be an array of AuthBackend');
  if (!['open', 'closed', 'memory'].includes(onStoreFailure)) throw new InvalidOptionError('onStoreFailure', "must be 'open', 'closed' or 'memory'");
  if (store !== undefined && typeof store.consume !== 'function') throw new InvalidOptionError('store', 'must implement consume()');
  for (const name of ['handler', 'skip'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new InvalidOptionError(name, 'must be a function');
  }
  const logger = options.logger ?? console;
  const chain = backends ?? legacyChain({ authBackend, annoBackend, ipv6Subnet: options.ipv6Subnet, logger });
  const engine: LimitEngine = {
    store: store ?? createStore(cache, { onFailure: onStoreFailure, timeoutMs: storeTimeoutMs, logger }),
    // The cache's own prefix namespaces rate-limit keys too (the store writes through its client).
    keyPrefix: `${(cache as { keyPrefix?: unknown }).keyPrefix ?? ''}${options.keyPrefix ?? 'wt:'}`,
    standardHeaders: options.standardHeaders ?? true,
    legacyHeaders: options.legacyHeaders ?? false,
    handler: options.handler,
    skip: options.skip,
    logger,
  };
  return { engine, backends: chain };
}

/**
 * The global middleware: `identify()` plus the limit configuration. Register it before your routes
 * (and before `useExpressServer`). When `identify()` already ran for the request, its identity is
 * reused and this middleware's backends are not consulted.
 * @example app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt) }))
 * @throws InvalidOptionError at creation for a bad option
 */
export function limitMiddleware(options: LimitMiddlewareOptions): RequestHandler {
  const { engine, backends } = parseLimitOptions(options);
  const resolve = createIdentifier({ backends, ipv6Subnet: options.ipv6Subnet, logger: engine.logger });
  // Synchronous when the caller is resolved without an await (a reused token, a session cookie).
  return function limitMiddleware(req: Request, res: Response, next: NextFunction): void {
    whenSettled(
      () => resolve(req, res),
      () => {
        setEngine(req, engine);
        next();
      },
      next,
    );
  };
}

/**
 * The same middleware as a class, for routing-controllers' `@Middleware({ type: 'before' })` or
 * `app.use(new LimitMiddleware(options).use)`.
 */
export class LimitMiddleware {
  private readonly handler: RequestHandler;

  constructor(options: LimitMiddlewareOptions) {
    this.handler = limitMiddleware(options);
    this.use = this.use.bind(this);
  }

  use(req: Request, res: Response, next: NextFunction): void {
    this.handler(req, res, next);
  }
}
