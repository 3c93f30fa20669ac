/** @module webtool/throttle: the global middleware, route limiters, rules, stores and headers. */
import '../express-request';
export { limitMiddleware, LimitMiddleware, parseLimitOptions, type LimitMiddlewareOptions } from './limit-middleware';
export { limiter, rulesMiddleware, type LimiterHandler } from './limiter';
export { enforceRules, type EnforceResult } from './enforce';
export { getContext, type LimitEngine, type LimitHandler, type LimitInfo, type RequestContext } from './context';
export { createRule, ruleApplies, ruleKey, policyName, type LimitOptions, type RequestFn, type Rule, type RuleSubject } from './rule';
export type { Algorithm, ConsumeRule, Decision, RateLimitStore, RuleOutcome } from './store';
export { MAX_SLIDING_LOG_LIMIT } from './store';
export { MemoryStore, type MemoryStoreOptions } from './memory-store';
export { RedisStore, type RedisStoreOptions } from './redis-store';
export { ResilientStore, type FailurePolicy, type ResilientStoreOptions } from './failure-policy';
export { createStore, type CreateStoreOptions } from './create-store';
export {
  setRateLimitHeaders,
  retryAfterSeconds,
  exposeRateLimitHeaders,
  quotaExceededProblem,
  RATE_LIMIT_HEADERS,
  type HeaderOptions,
  type NamedOutcome,
} from './headers';
