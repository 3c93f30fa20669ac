/**
 * @module `limiter()`: route-level rate limits for plain Express. Several rules on one route are
 * decided together with `limiter.all(...)`, in one store call.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InvalidOptionError } from '../errors';
import { enforceRules, type EnforceResult } from './enforce';
import { whenSettled } from '../utils/maybe-async';
import { createRule, type LimitOptions, type RequestFn, type Rule } from './rule';
import { routeKeyOf } from './route-key';

/** A limiter middleware that also carries its rules (so `limiter.all` can merge them). */
export interface LimiterHandler extends RequestHandler {
  readonly rules: readonly Rule[];
}

/**
 * A middleware deciding `rules` for the request with one store call. Budgets are per route pattern
 * as Express matched it (mounts, routers, route and its methods), or per `routeKey` when given.
 */
export function rulesMiddleware(rules: readonly Rule[], routeKey?: string): LimiterHandler {
  const handler = function limiter(req: Request, res: Response, next: NextFunction): void {
    whenSettled(
      () => enforceRules(req, res, rules, routeKey ?? routeKeyOf(req, handler)),
      (result: EnforceResult) => result === 'next' && next(),
      next,
    );
  };
  return Object.assign(handler, { rules });
}

/**
 * At most `maxRequests` per `intervalSeconds` for the callers `scopes` select.
 * @example app.get('/api/3/', limiter(10, 10, ['user']), handler)
 * @throws InvalidOptionError at creation for a bad argument
 */
export function limiter(maxRequests: number | RequestFn<number>, intervalSeconds: number, scopes?: string[], options?: LimitOptions): LimiterHandler {
  return rulesMiddleware([createRule(maxRequests, intervalSeconds, scopes, options)]);
}

/**
 * Several limiters on one route, decided together: a request denied by one rule is counted by none.
 * @example app.get('/search', limiter.all(limiter(10, 1), limiter(1000, 3600)), handler)
 */
limiter.all = function all(...limiters: LimiterHandler[]): LimiterHandler {
  if (!limiters.every((l) => typeof l === 'function' && Array.isArray(l.rules))) {
    throw new InvalidOptionError('limiters', 'limiter.all takes limiter(...) middlewares');
  }
  return rulesMiddleware(limiters.flatMap((l) => l.rules));
};
