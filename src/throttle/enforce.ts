/**
 * @module Decides the rules of one request: pick the rules that apply, ONE store call for all of
 * them, headers, then pass, 429 or 503. Shared by `limiter()` and `@Limiter`.
 */
import type { Request, Response } from 'express';
import { ConfigurationError, StoreUnavailableError } from '../errors';
import { getContext, type RequestContext } from './context';
import { exposeRateLimitHeaders, quotaExceededProblem, retryAfterSeconds, setRateLimitHeaders, type NamedOutcome } from './headers';
import { policyName, ruleApplies, ruleKey, type Rule } from './rule';
import { consumeWithOffer } from './session-offer';
import type { ConsumeRule } from './store';

/** `next` to go on, `done` when a response was sent. */
export type EnforceResult = 'next' | 'done';

async function resolveNumber(value: number | ((req: Request) => number | Promise<number>), req: Request, what: string, min: number): Promise<number> {
  const n = typeof value === 'function' ? await value(req) : value;
  if (!Number.isInteger(n) || n < min) throw new ConfigurationError(`${what} function returned ${String(n)}; expected an integer ≥ ${min}`);
  return n;
}

async function plan(req: Request, context: RequestContext, rules: readonly Rule[], routeKey: string): Promise<{ consume: ConsumeRule[]; names: string[] }> {
  const consume: ConsumeRule[] = [];
  const names: string[] = [];
  for (const rule of rules) {
    if (!ruleApplies(rule, req.method, context)) continue;
    if (rule.skip && (await rule.skip(req))) continue;
    const limit = await resolveNumber(rule.maxRequests, req, 'maxRequests', 1);
    const cost = await resolveNumber(rule.cost, req, 'cost', 0);
    let name = policyName(rule, limit);
    for (let n = 2; names.includes(name); n++) name = `${policyName(rule, limit)}-${n}`;
    names.push(name);
    consume.push({ key: ruleKey(context.engine.keyPrefix, context.identityKey, routeKey, rule), limit, windowMs: rule.windowMs, cost, algorithm: rule.algorithm });
  }
  return { consume, names };
}

/**
 * @throws ConfigurationError when `limitMiddleware` did not run first, or a rule function misbehaves
 */
export async function enforceRules(req: Request, res: Response, rules: readonly Rule[], routeKey: string): Promise<EnforceResult> {
  const context = getContext(req);
  if (!context) throw new ConfigurationError('a limiter ran without limitMiddleware(): register app.use(limitMiddleware({ cache })) before your routes');
  const { engine } = context;
  if (engine.skip && (await engine.skip(req))) return 'next';
  const { consume, names } = await plan(req, context, rules, routeKey);
  if (consume.length === 0) return 'next';
  // One store call; a cookie-less anonymous caller's session offer rides along as one more rule.
  const decision = await consumeWithOffer(req, engine.store, engine.keyPrefix, consume);
  if (decision.status === 'unavailable') {
    res.status(503).type('application/problem+json').json(new StoreUnavailableError('rate-limit store unavailable').toJSON());
    return 'done';
  }
  const outcomes: NamedOutcome[] = decision.rules.map((o, i) => ({ ...o, name: names[i] }));
  setRateLimitHeaders(res, outcomes, engine);
  if (outcomes.length) exposeRateLimitHeaders(res);
  if (decision.status === 'allowed') return 'next';
  const violated = outcomes.filter((o) => !o.allowed);
  const retryAfter = retryAfterSeconds(outcomes);
  res.setHeader('Retry-After', String(retryAfter));
  if (engine.handler) {
    await new Promise<void>((resolve, reject) => {
      try {
        engine.handler!(req, res, (err?: unknown) => (err ? reject(err) : resolve()), { violated, rules: outcomes, retryAfterSeconds: retryAfter, decision });
        if (res.headersSent) resolve();
      } catch (err) {
        reject(err);
      }
    });
    return res.headersSent ? 'done' : 'next';
  }
  res.status(429).type('application/problem+json').send(JSON.stringify(quotaExceededProblem(violated.map((v) => v.name), retryAfter)));
  return 'done';
}
