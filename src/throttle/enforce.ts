/**
 * @module Decides the rules of one request: pick the rules that apply, ONE store call for all of
 * them, headers, then pass, 429 or 503. Shared by `limiter()` and `@Limiter`.
 */
import type { Request, Response } from 'express';
import { ConfigurationError, StoreUnavailableError } from '../errors';
import { getContext, type LimitEngine, type LimitHandler, type LimitInfo, type RequestContext } from './context';
import { exposeRateLimitHeaders, oversizedProblem, quotaExceededProblem, retryAfterSeconds, writeRateLimitHeaders, type NamedOutcome } from './headers';
import { policyName, ruleApplies, ruleKey, type Rule } from './rule';
import { consumeWithOffer, hasPendingOffer } from './session-offer';
import { MAX_SLIDING_LOG_LIMIT, type ConsumeRule, type Decision } from './store';
import { isThenable } from '../utils/maybe-async';

/** `next` to go on, `done` when a response was sent. */
export type EnforceResult = 'next' | 'done';

function checkNumber(n: unknown, what: string, min: number): number {
  if (!Number.isInteger(n) || (n as number) < min) throw new ConfigurationError(`${what} function returned ${String(n)}; expected an integer ≥ ${min}`);
  return n as number;
}

async function resolveNumber(value: number | ((req: Request) => number | Promise<number>), req: Request, what: string, min: number): Promise<number> {
  return checkNumber(typeof value === 'function' ? await value(req) : value, what, min);
}

interface Plan {
  consume: ConsumeRule[];
  names: string[];
  /** Policies whose cost for this request exceeds their limit: it can never be admitted. */
  oversized: string[];
}

/** A rule with no function (limit, cost, skip) is planned without awaiting anything. */
function isStatic(rule: Rule): boolean {
  return rule.skip === undefined && typeof rule.maxRequests === 'number' && typeof rule.cost === 'number';
}

function addRule(planned: Plan, context: RequestContext, rule: Rule, routeKey: string, limit: number, cost: number): void {
  if (rule.algorithm === 'sliding-log' && limit > MAX_SLIDING_LOG_LIMIT) {
    throw new ConfigurationError(`maxRequests function returned ${limit}; a sliding-log rule allows at most ${MAX_SLIDING_LOG_LIMIT} (use algorithm 'gcra')`);
  }
  const { names } = planned;
  let name = policyName(rule, limit);
  for (let n = 2; names.includes(name); n++) name = `${policyName(rule, limit)}-${n}`;
  names.push(name);
  if (cost > limit) planned.oversized.push(name);
  planned.consume.push({ key: ruleKey(context.engine.keyPrefix, context.identity.key, routeKey, rule), limit, windowMs: rule.windowMs, cost, algorithm: rule.algorithm });
}

/** The plan of rules that are all static: synchronous (no microtask per rule and value). */
function planStatic(req: Request, context: RequestContext, rules: readonly Rule[], routeKey: string): Plan {
  const planned: Plan = { consume: [], names: [], oversized: [] };
  for (const rule of rules) {
    if (ruleApplies(rule, req.method, context.identity)) addRule(planned, context, rule, routeKey, rule.maxRequests as number, rule.cost as number);
  }
  return planned;
}

async function plan(req: Request, context: RequestContext, rules: readonly Rule[], routeKey: string): Promise<Plan> {
  const planned: Plan = { consume: [], names: [], oversized: [] };
  for (const rule of rules) {
    if (!ruleApplies(rule, req.method, context.identity)) continue;
    if (rule.skip && (await rule.skip(req))) continue;
    const limit = await resolveNumber(rule.maxRequests, req, 'maxRequests', 1);
    const cost = await resolveNumber(rule.cost, req, 'cost', 0);
    addRule(planned, context, rule, routeKey, limit, cost);
  }
  return planned;
}

/**
 * A rule function (`maxRequests`, `cost`, `skip`) threw or returned a bad value: a problem+json 500
 * with no stack or path, logged once through the configured logger (issue 8 item 11).
 */
// Per middleware, the routes whose rule functions already failed: a client must not flood the log.
const warnedRoutes = new WeakMap<LimitEngine, Set<string>>();

function ruleFunctionFailed(req: Request, res: Response, engine: LimitEngine, routeKey: string, err: unknown): EnforceResult {
  const error = err instanceof ConfigurationError ? err : new ConfigurationError('a rule function threw', { cause: err });
  let warned = warnedRoutes.get(engine);
  if (!warned) warnedRoutes.set(engine, (warned = new Set()));
  if (!warned.has(routeKey)) {
    // Bounded: route keys come from the app's routes, not from requests.
    if (warned.size < 10_000) warned.add(routeKey);
    const cause = err instanceof ConfigurationError ? '' : `: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    engine.logger.warn(`webtool: ${error.message}${cause} (${req.method} ${String(req.route?.path ?? 'middleware')}); answered 500 (logged once per route)`);
  }
  res.status(500).type('application/problem+json').send(JSON.stringify(error.toJSON()));
  return 'done';
}

/**
 * Synchronous (no microtask hop) when nothing needs an await: no `skip`, static rules, a store that
 * decides in-process, no session offer, no deny handler.
 * @throws ConfigurationError when `limitMiddleware` did not run first, or a rule function misbehaves
 */
export function enforceRules(req: Request, res: Response, rules: readonly Rule[], routeKey: string): EnforceResult | Promise<EnforceResult> {
  const context = getContext(req);
  if (!context) throw new ConfigurationError('a limiter ran without limitMiddleware(): register app.use(limitMiddleware({ cache })) before your routes');
  const { engine } = context;
  if (engine.skip || !rules.every(isStatic)) return planThenDecide(req, res, context, rules, routeKey);
  let planned: Plan;
  try {
    planned = planStatic(req, context, rules, routeKey);
  } catch (err) {
    return ruleFunctionFailed(req, res, engine, routeKey, err);
  }
  return decide(req, res, context, planned);
}

async function planThenDecide(req: Request, res: Response, context: RequestContext, rules: readonly Rule[], routeKey: string): Promise<EnforceResult> {
  const { engine } = context;
  let planned: Plan;
  try {
    if (engine.skip && (await engine.skip(req))) return 'next';
    planned = rules.every(isStatic) ? planStatic(req, context, rules, routeKey) : await plan(req, context, rules, routeKey);
  } catch (err) {
    return ruleFunctionFailed(req, res, engine, routeKey, err);
  }
  return decide(req, res, context, planned);
}

function decide(req: Request, res: Response, context: RequestContext, planned: Plan): EnforceResult | Promise<EnforceResult> {
  const { engine, identity } = context;
  const { consume, names, oversized } = planned;
  if (consume.length === 0) return 'next';
  if (oversized.length) {
    // Never admissible, whatever the wait: 429 without Retry-After, and nothing is counted.
    res.status(429).type('application/problem+json').send(JSON.stringify(oversizedProblem(oversized)));
    return 'done';
  }
  // One store call; a cookie-less anonymous caller's session offer rides along as one more rule.
  const { store } = engine;
  if (hasPendingOffer(identity)) return consumeWithOffer(identity, store, engine.keyPrefix, consume).then((decision) => answer(req, res, engine, names, decision));
  if (store.consumeSync) return answer(req, res, engine, names, store.consumeSync(consume));
  return store.consume(consume).then((decision) => answer(req, res, engine, names, decision));
}

/** Headers, then pass, 429 or 503 for a decision. */
function answer(req: Request, res: Response, engine: LimitEngine, names: string[], decision: Decision): EnforceResult | Promise<EnforceResult> {
  if (decision.status === 'unavailable') {
    res.status(503).type('application/problem+json').json(new StoreUnavailableError('rate-limit store unavailable').toJSON());
    return 'done';
  }
  writeRateLimitHeaders(res, decision.rules, names, engine);
  // Exposed to browsers only when there are fields to read (a denial always has Retry-After).
  if (decision.rules.length && (engine.standardHeaders || engine.legacyHeaders || decision.status !== 'allowed')) exposeRateLimitHeaders(res);
  if (decision.status === 'allowed') return 'next';
  // Named copies only on the limited path (the deny handler is given them).
  const outcomes: NamedOutcome[] = decision.rules.map((o, i) => ({ ...o, name: names[i] }));
  const violated = outcomes.filter((o) => !o.allowed);
  const retryAfter = retryAfterSeconds(outcomes);
  res.setHeader('Retry-After', String(retryAfter));
  if (engine.handler) return denyWithHandler(req, res, engine.handler, { violated, rules: outcomes, retryAfterSeconds: retryAfter, decision });
  res.status(429).type('application/problem+json').send(JSON.stringify(quotaExceededProblem(violated.map((v) => v.name), retryAfter)));
  return 'done';
}

async function denyWithHandler(req: Request, res: Response, handler: LimitHandler, info: LimitInfo): Promise<EnforceResult> {
  await new Promise<void>((resolve, reject) => {
    try {
      const returned: unknown = handler(req, res, (err?: unknown) => (err ? reject(err) : resolve()), info);
      // An async handler that rejects goes to the error handler, as one that throws does.
      if (isThenable(returned)) returned.then(() => res.headersSent && resolve(), reject);
      if (res.headersSent) resolve();
    } catch (err) {
      reject(err);
    }
  });
  return res.headersSent ? 'done' : 'next';
}
