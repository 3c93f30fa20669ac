/**
 * @module `limitMiddleware`: the one global middleware. It resolves the caller once per request
 * through the backend chain, sets `req.auth` for authenticated callers, and records who the
 * limiters count. Rules themselves live on routes (`limiter`, `@Limiter`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cache } from '../cache/cache';
import type { Logger } from '../cache/redis-cache';
import { AnnoSessionBackend } from '../auth/backends/anno-session-backend';
import type { AuthBackend } from '../auth/backends/backend';
import { resolveIdentity } from '../auth/backends/chain';
import { InvalidOptionError } from '../errors';
import { ipKey } from '../utils/ip-key';
import { setContext, type LimitEngine, type LimitHandler } from './context';
import { createStore } from './create-store';
import type { FailurePolicy } from './failure-policy';
import type { RequestFn } from './rule';
import type { RateLimitStore } from './store';

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
  /** @default console */
  logger?: Logger;
}

function isBackend(value: unknown): value is AuthBackend {
  return !!value && typeof (value as AuthBackend).authenticate === 'function' && ((value as AuthBackend).kind === 'user' || (value as AuthBackend).kind === 'anno');
}

/** Validates the options once. @throws InvalidOptionError naming the option */
export function parseLimitOptions(options: LimitMiddlewareOptions): { engine: LimitEngine; backends: AuthBackend[] } {
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object with a cache');
  const { cache, authBackend, annoBackend, backends, store, onStoreFailure = 'memory', storeTimeoutMs } = options;
  if (!cache || typeof cache.get !== 'function') throw new InvalidOptionError('cache', 'is required (a RedisCache or InMemoryCache)');
  if (backends !== undefined && (authBackend !== undefined || annoBackend !== undefined)) {
    throw new InvalidOptionError('backends', 'give either backends or authBackend/annoBackend, not both');
  }
  if (backends !== undefined && (!Array.isArray(backends) || !backends.every(isBackend))) throw new InvalidOptionError('backends', 'must be an array of AuthBackend');
  if (authBackend !== undefined && !isBackend(authBackend)) throw new InvalidOptionError('authBackend', 'must be an AuthBackend');
  if (annoBackend !== undefined && annoBackend !== false && !isBackend(annoBackend)) throw new InvalidOptionError('annoBackend', 'must be an AuthBackend or false');
  if (!['open', 'closed', 'memory'].includes(onStoreFailure)) throw new InvalidOptionError('onStoreFailure', "must be 'open', 'closed' or 'memory'");
  if (store !== undefined && typeof store.consume !== 'function') throw new InvalidOptionError('store', 'must implement consume()');
  for (const name of ['handler', 'skip'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new InvalidOptionError(name, 'must be a function');
  }
  const logger = options.logger ?? console;
  const chain = backends ?? [authBackend, annoBackend === undefined ? new AnnoSessionBackend({ logger }) : annoBackend].filter(isBackend);
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
 * The global middleware. Register it before your routes (and before `useExpressServer`).
 * @example app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt) }))
 * @throws InvalidOptionError at creation for a bad option
 */
export function limitMiddleware(options: LimitMiddlewareOptions): RequestHandler {
  const { engine, backends } = parseLimitOptions(options);
  return async function limitMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const resolved = await resolveIdentity(backends, req, res);
      if (resolved?.kind === 'user') req.auth = resolved.auth;
      else delete req.auth; // never trust an `auth` something upstream put there
      const identityKey = resolved ? `${resolved.kind === 'user' ? 'u' : 'a'}:${resolved.auth.identifier}` : `a:ip:${ipKey(req.ip)}`;
      setContext(req, { kind: resolved?.kind ?? 'anno', identityKey, scope: resolved?.kind === 'user' ? resolved.auth.scope : null, engine });
      next();
    } catch (err) {
      next(err);
    }
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
    void this.handler(req, res, next);
  }
}
