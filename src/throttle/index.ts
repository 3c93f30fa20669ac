/** @module webtool/throttle: the global middleware, route limiters, rules, stores and headers. */
import '../express-request';
export { limitMiddleware, LimitMiddleware, type LimitMiddlewareOptions } from './limit-middleware';
export { limiter, rulesMiddleware, type LimiterHandler } from './limiter';
export type { LimitHandler, LimitInfo } from './context';
export type { LimitOptions, RequestFn, Rule, RuleSubject } from './rule';
export type { Algorithm, ConsumeRule, Decision, RateLimitStore, RuleOutcome } from './store';
export { MAX_SLIDING_LOG_LIMIT } from './store';
export { MemoryStore, type MemoryStoreOptions } from './memory-store';
export { RedisStore, type RedisStoreOptions } from './redis-store';
export { ResilientStore, type FailurePolicy, type ResilientStoreOptions } from './failure-policy';
export { createStore, type CreateStoreOptions } from './create-store';
export {
  setRateLimitHeaders,
  exposeRateLimitHeaders,
  quotaExceededProblem,
  RATE_LIMIT_HEADERS,
  type HeaderOptions,
  type NamedOutcome,
} from './headers';
export * from '../errors';
