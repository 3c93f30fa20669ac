/**
 * @module Per-request state the global middleware hands to the limiters: who is counted, and the
 * configuration to count with. Kept in the request's identity record (module-private, a WeakMap), so
 * nothing on `req` can forge it.
 */
import type { Request, Response, NextFunction } from 'express';
import { recordOf, type Identity } from '../auth/identity';
import type { Logger } from '../cache/redis-cache';
import type { NamedOutcome, HeaderOptions } from './headers';
import type { RequestFn } from './rule';
import type { Decision, RateLimitStore } from './store';

/** What a custom deny handler is told. */
export interface LimitInfo {
  /** The violated rules. */
  violated: NamedOutcome[];
  /** All decided rules. */
  rules: NamedOutcome[];
  retryAfterSeconds: number;
  decision: Decision;
}

/** Answers a limited request instead of the default 429 problem response (it may be async: a rejection goes to the error handler). */
export type LimitHandler = (req: Request, res: Response, next: NextFunction, info: LimitInfo) => unknown;

/** The parsed global configuration. */
export interface LimitEngine extends Required<HeaderOptions> {
  store: RateLimitStore;
  keyPrefix: string;
  handler?: LimitHandler;
  skip?: RequestFn<boolean>;
  logger: Logger;
}

/** The caller as the limiter counts it, and the configuration to count with. */
export interface RequestContext {
  /** `identity.key`: `u:<sub>` for users, `a:<session or ip>` for anonymous callers (separate namespaces). */
  readonly identity: Identity;
  readonly engine: LimitEngine;
}

/** Attaches `engine` to the identity already recorded for `req` (by `identify()`, which runs first). */
export function setEngine(req: Request, engine: LimitEngine): void {
  const record = recordOf(req);
  if (record) record.engine = engine;
}

/** The context `limitMiddleware` recorded for `req`, if it ran. */
export function getContext(req: Request): RequestContext | undefined {
  const record = recordOf(req);
  return record?.engine ? (record as RequestContext) : undefined;
}
