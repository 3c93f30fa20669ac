/**
 * @module Rate-limit rules: validated once when declared, then matched and keyed per request.
 * A rule's identity includes its limit, window, methods, scopes, algorithm and key, so two stacked
 * rules never collapse into one counter (the Python original's key omitted the limit).
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { InvalidOptionError } from '../errors';
import { compactKey } from '../utils/redis-key';
import { checkOptionNames, checkScopeSpelling, checkScopesArgument } from './rule-options';
import { MAX_SLIDING_LOG_LIMIT, type Algorithm } from './store';

/** A value computed from the request. */
export type RequestFn<T> = (req: Request) => T | Promise<T>;

/** Options of a rule beyond limit, window and scopes. */
export interface LimitOptions {
  /** HTTP methods the rule counts (case-insensitive); all when absent. */
  method?: string | string[];
  /** Budget name: rules with the same key share a counter across routes. @default the route */
  key?: string;
  /** @default 'sliding-log' */
  algorithm?: Algorithm;
  /** Units one request spends: a non-negative integer or a function of the request. @default 1 */
  cost?: number | RequestFn<number>;
  /** Return true to exempt a request from this rule (an allow-list). */
  skip?: RequestFn<boolean>;
}

/** A validated rule. */
export interface Rule {
  readonly maxRequests: number | RequestFn<number>;
  readonly windowMs: number;
  readonly scopes: readonly string[];
  readonly methods: readonly string[] | null;
  readonly algorithm: Algorithm;
  readonly cost: number | RequestFn<number>;
  readonly skip?: RequestFn<boolean>;
  readonly key?: string;
  /** Stable identity of the rule's parameters. */
  readonly id: string;
}

/** Who is asking, as far as rules care. */
export interface RuleSubject {
  kind: 'user' | 'anno';
  scope: readonly string[] | null;
}

const ALGORITHMS: readonly Algorithm[] = ['sliding-log', 'gcra'];
/** The shortest window a rule may have. */
const MIN_WINDOW_MS = 1;
const METHOD = /^[A-Za-z]+$/;

function fail(option: string, message: string): never {
  throw new InvalidOptionError(option, message);
}

/**
 * Declares a rule: at most `maxRequests` per `intervalSeconds`.
 * Scopes: "user" = authenticated callers only, "anno" = anonymous only, neither or both = everyone;
 * any other string = authenticated callers whose scope contains it (all such strings, when several).
 * @throws InvalidOptionError naming the option
 * @example createRule(10, 10, ['user'], { method: 'POST' })
 */
export function createRule(maxRequests: number | RequestFn<number>, intervalSeconds: number, scopes: string[] = [], options: LimitOptions = {}): Rule {
  if (typeof maxRequests !== 'function' && (!Number.isInteger(maxRequests) || maxRequests < 1)) {
    fail('maxRequests', 'must be a positive integer or a function of the request');
  }
  if (typeof intervalSeconds !== 'number' || !Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    fail('intervalSeconds', 'must be a positive number of seconds');
  }
  // Rounded to whole milliseconds below: a shorter window would round to 0 and count nothing.
  if (intervalSeconds < MIN_WINDOW_MS / 1000) fail('intervalSeconds', `must be at least ${MIN_WINDOW_MS / 1000} s (${MIN_WINDOW_MS} ms)`);
  checkScopesArgument(scopes);
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && s.length > 0)) {
    fail('scopes', 'must be an array of non-empty strings');
  }
  checkScopeSpelling(scopes);
  checkOptionNames(options);
  const { method, key, algorithm = 'sliding-log', cost = 1, skip } = options;
  const methods = method === undefined ? null : (Array.isArray(method) ? method : [method]).map((m) => {
    if (typeof m !== 'string' || !METHOD.test(m)) fail('method', `"${String(m)}" is not an HTTP method`);
    return m.toUpperCase();
  });
  if (!ALGORITHMS.includes(algorithm)) fail('algorithm', `must be one of ${ALGORITHMS.join(', ')}`);
  // Bounded memory per key (issue 13 item 4): a sliding log keeps one member per request in the window.
  if (algorithm === 'sliding-log' && typeof maxRequests === 'number' && maxRequests > MAX_SLIDING_LOG_LIMIT) {
    fail('maxRequests', `a sliding-log rule allows at most ${MAX_SLIDING_LOG_LIMIT} requests per window (got ${maxRequests}); use { algorithm: 'gcra' } for larger limits`);
  }
  if (typeof cost !== 'function' && (!Number.isInteger(cost) || cost < 0)) fail('cost', 'must be a non-negative integer or a function');
  if (skip !== undefined && typeof skip !== 'function') fail('skip', 'must be a function');
  if (key !== undefined && (typeof key !== 'string' || key.length === 0)) fail('key', 'must be a non-empty string');
  if (typeof cost === 'number' && typeof maxRequests === 'number' && cost > maxRequests) {
    fail('cost', `${cost} exceeds maxRequests (${maxRequests}): no request could ever be admitted`);
  }
  const windowMs = Math.round(intervalSeconds * 1000);
  const sortedScopes = [...new Set(scopes)].sort();
  const limitPart = typeof maxRequests === 'function' ? 'fn' : String(maxRequests);
  const id = [limitPart, windowMs, methods?.slice().sort().join(',') ?? '*', sortedScopes.join(','), algorithm, key ?? ''].join('/');
  return Object.freeze({ maxRequests, windowMs, scopes: sortedScopes, methods, algorithm, cost, skip, key, id });
}

/** Express runs GET handlers for HEAD, so a GET rule counts HEAD too (issue 8 item 4). */
function methodMatches(methods: readonly string[], method: string): boolean {
  return methods.includes(method) || (method === 'HEAD' && methods.includes('GET'));
}

/** Whether `rule` counts a request with this method from this caller. */
export function ruleApplies(rule: Rule, method: string, subject: RuleSubject): boolean {
  if (rule.methods && !methodMatches(rule.methods, method.toUpperCase())) return false;
  const user = rule.scopes.includes('user');
  const anno = rule.scopes.includes('anno');
  if (user !== anno && subject.kind !== (user ? 'user' : 'anno')) return false;
  const required = rule.scopes.filter((s) => s !== 'user' && s !== 'anno');
  if (required.length === 0) return true;
  return subject.kind === 'user' && subject.scope !== null && required.every((s) => subject.scope!.includes(s));
}

/**
 * The storage key of `rule` for one identity on one route: `<prefix>{<identity>}<8-character hash of
 * route and rule>`, hash-tagged by identity, and short so a GCRA counter stays under 140 bytes of
 * Redis memory.
 */
export function ruleKey(prefix: string, identityKey: string, routeKey: string, rule: Rule): string {
  return compactKey(prefix, identityKey, ruleDigest(routeKey, rule));
}

// Digests depend on route and rule only: computed once per (rule, route), not per request. Kept per
// rule (a WeakMap), so a request finds its digest without building or hashing a new string.
const digests = new WeakMap<Rule, Map<string, string>>();
/** Route keys remembered per rule; route keys come from code (route patterns, controller methods), not from requests. */
const MAX_DIGESTS_PER_RULE = 10_000;

function ruleDigest(routeKey: string, rule: Rule): string {
  let byRoute = digests.get(rule);
  if (byRoute === undefined) digests.set(rule, (byRoute = new Map()));
  const budget = rule.key ?? routeKey;
  let digest = byRoute.get(budget);
  if (digest === undefined) {
    digest = createHash('sha256').update(`${budget}\n${rule.id}`).digest('base64url').slice(0, 8);
    if (byRoute.size < MAX_DIGESTS_PER_RULE) byRoute.set(budget, digest);
  }
  return digest;
}

/**
 * The policy name shown in headers: "<limit>-in-<window>" plus scopes and methods when present.
 * Scopes may hold any Unicode, but a structured-field string is printable ASCII (RFC 8941 §3.3.3) and
 * Node refuses a non-Latin-1 header (issue 13 item 6): other characters, and `%`, are percent-encoded
 * as UTF-8 (`читать` → `%d1%87…`), as RFC 9651 display strings do. `"` and `\` are escaped when quoted.
 */
export function policyName(rule: Rule, limit: number): string {
  // A constant limit has one name: built once per rule, not per request.
  if (limit !== rule.maxRequests) return buildPolicyName(rule, limit);
  let name = constantNames.get(rule);
  if (name === undefined) constantNames.set(rule, (name = buildPolicyName(rule, limit)));
  return name;
}

const constantNames = new WeakMap<Rule, string>();

function buildPolicyName(rule: Rule, limit: number): string {
  const seconds = rule.windowMs / 1000;
  const parts = [`${limit}-in-${seconds}s`];
  if (rule.scopes.length) parts.push(rule.scopes.map(printable).join('+'));
  if (rule.methods) parts.push(rule.methods.join('+'));
  return parts.join('-');
}

const encoder = new TextEncoder();

function printable(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (/^[\x20-\x24\x26-\x7e]$/.test(ch)) out += ch;
    else for (const byte of encoder.encode(ch)) out += `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
