/**
 * @module Rate-limit response fields, as pure setters. The IETF fields follow
 * draft-ietf-httpapi-ratelimit-headers (structured-field lists): `RateLimit-Policy: "name";q=<quota>;w=<window s>`
 * and `RateLimit: "name";r=<remaining>;t=<seconds to reset>`, one list member per rule.
 */
import type { Response } from 'express';
import type { RuleOutcome } from './store';

/** A decided rule with the policy name it is shown under. */
export interface NamedOutcome extends RuleOutcome {
  name: string;
}

/** Which header sets to send. */
export interface HeaderOptions {
  /** `RateLimit-Policy` and `RateLimit`. @default true */
  standardHeaders?: boolean;
  /** `X-RateLimit-Limit/Remaining/Reset` (Reset in epoch seconds, as GitHub and express-rate-limit send it). @default false */
  legacyHeaders?: boolean;
}

/** Every field webtool may set, for `Access-Control-Expose-Headers`. */
export const RATE_LIMIT_HEADERS = ['RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'] as const;

const EXPOSED = RATE_LIMIT_HEADERS.join(', ');
const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));
/** An RFC 8941 sf-string: `"` and `\` escaped (names are printable ASCII, see `policyName`). */
const quote = (name: string) => (name.includes('"') || name.includes('\\') ? `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"` : `"${name}"`);

/** Sets the rate-limit fields for the decided rules (nothing when there are none). */
export function setRateLimitHeaders(res: Response, outcomes: readonly NamedOutcome[], options: HeaderOptions = {}): void {
  writeRateLimitHeaders(res, outcomes, outcomes.map((o) => o.name), options);
}

/**
 * `setRateLimitHeaders` for outcomes and their names side by side: the request path sets the fields
 * without copying each outcome into a named one.
 */
export function writeRateLimitHeaders(res: Response, outcomes: readonly RuleOutcome[], names: readonly string[], { standardHeaders = true, legacyHeaders = false }: HeaderOptions = {}): void {
  if (outcomes.length === 0) return;
  if (standardHeaders) {
    let policy = '';
    let current = '';
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i];
      const name = quote(names[i]);
      const sep = i === 0 ? '' : ', ';
      policy += `${sep}${name};q=${o.limit};w=${seconds(o.windowMs)}`;
      current += `${sep}${name};r=${o.remaining};t=${seconds(o.resetMs)}`;
    }
    res.setHeader('RateLimit-Policy', policy);
    res.setHeader('RateLimit', current);
  }
  if (legacyHeaders) {
    // The most restrictive rule: the one with the least left.
    const tightest = outcomes.reduce((a, b) => (b.remaining < a.remaining ? b : a));
    res.setHeader('X-RateLimit-Limit', String(tightest.limit));
    res.setHeader('X-RateLimit-Remaining', String(tightest.remaining));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil((Date.now() + tightest.resetMs) / 1000)));
  }
}

/** `Retry-After` in whole seconds: the longest wait among the VIOLATED rules only (RFC 9110 §10.2.3). */
export function retryAfterSeconds(outcomes: readonly RuleOutcome[]): number {
  const waits = outcomes.filter((o) => !o.allowed).map((o) => o.retryAfterMs);
  return Math.max(1, seconds(Math.max(0, ...waits)));
}

/** Appends the rate-limit fields to `Access-Control-Expose-Headers`, keeping what is there. */
export function exposeRateLimitHeaders(res: Response): void {
  const current = res.getHeader('Access-Control-Expose-Headers');
  if (current === undefined) {
    res.setHeader('Access-Control-Expose-Headers', EXPOSED); // the common case, on every limited response
    return;
  }
  const existing = String(current)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const merged = [...existing, ...RATE_LIMIT_HEADERS.filter((h) => !existing.some((e) => e.toLowerCase() === h.toLowerCase()))];
  res.setHeader('Access-Control-Expose-Headers', merged.join(', '));
}

/** The RFC 9457 body of a 429 (the quota-exceeded problem type of the rate-limit draft). */
export function quotaExceededProblem(violatedPolicies: readonly string[], retryAfter: number): Record<string, unknown> {
  return {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Request cannot be satisfied as assigned quota has been exceeded',
    status: 429,
    detail: `Too many requests; retry in ${retryAfter} s`,
    'violated-policies': [...violatedPolicies],
  };
}

/**
 * The RFC 9457 body of a 429 for a request whose cost exceeds a policy's whole limit: waiting does
 * not help, so it comes without `Retry-After`.
 */
export function oversizedProblem(policies: readonly string[]): Record<string, unknown> {
  return {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Request cannot be satisfied as assigned quota has been exceeded',
    status: 429,
    detail: 'This request costs more than the policy allows in one window; it cannot be admitted at any time',
    'violated-policies': [...policies],
  };
}
