/**
 * @module The rate-limit store interface. One `consume` call decides every rule of a request
 * atomically: either all rules admit it and all count it, or it is denied and none counts it.
 */
import { InvalidOptionError } from '../errors';

/** `sliding-log`: exact, one entry per admitted request. `gcra`: O(1) memory (one number per identity and rule). */
export type Algorithm = 'sliding-log' | 'gcra';

/** One rule applied to one identity, ready for the store. */
export interface ConsumeRule {
  /** Full storage key (already namespaced by identity and rule). */
  key: string;
  /** Requests (cost units) allowed per window. */
  limit: number;
  windowMs: number;
  /** Units this request spends. @default 1 */
  cost: number;
  algorithm: Algorithm;
  /**
   * Decided and counted only when it admits; it never denies the request itself (its outcome says
   * whether it admitted). The anonymous session offer's mint budget is one. @default false
   */
  optional?: boolean;
}

/** What the store decided for one rule. */
export interface RuleOutcome {
  key: string;
  limit: number;
  windowMs: number;
  /** Whether this rule alone would admit the request. */
  allowed: boolean;
  /** Units left in the window after this request (0 when denied). */
  remaining: number;
  /** Milliseconds until the window is entirely free again (quota fully restored). */
  resetMs: number;
  /** Milliseconds until a request of this cost would be admitted by this rule; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * The outcome of one request. `limited` is a decision, not an error; `unavailable` means the store
 * could not decide (only surfaced by the fail-closed policy).
 */
export interface Decision {
  status: 'allowed' | 'limited' | 'unavailable';
  rules: RuleOutcome[];
  /** True when a failure policy decided instead of the primary store (fail-open or memory fallback). */
  degraded?: boolean;
}

/** A rate-limit store. `consume` must be atomic across all `rules`. */
export interface RateLimitStore {
  /** @throws StoreUnavailableError when the backing service fails or does not answer in time. */
  consume(rules: readonly ConsumeRule[]): Promise<Decision>;
  /**
   * `consume` for a store that decides in-process: the same decision, returned at once, so the
   * limiter answers without a microtask hop. Optional; `MemoryStore` has it.
   */
  consumeSync?(rules: readonly ConsumeRule[]): Decision;
  /** Forgets one key (admin / tests). */
  reset?(key: string): Promise<void>;
  close?(): Promise<void>;
}

/**
 * The largest `limit` a `sliding-log` rule may have. The log holds one entry per admitted request
 * in the window (a weighted request is one entry), so a key holds at most `limit` entries; above this
 * use `gcra`, whose state is one number whatever the limit (issue 13 item 4).
 */
export const MAX_SLIDING_LOG_LIMIT = 10_000;

/**
 * Refuses a rule no store may run: a sliding log above `MAX_SLIDING_LOG_LIMIT` (its memory would
 * grow with the limit). Cost 0 is valid everywhere (a free request that is checked, not counted).
 * @throws InvalidOptionError naming `limit`
 */
export function checkStoreRules(rules: readonly ConsumeRule[]): void {
  for (const rule of rules) {
    if (rule.algorithm !== 'gcra' && rule.limit > MAX_SLIDING_LOG_LIMIT) {
      throw new InvalidOptionError('limit', `a sliding-log rule allows at most ${MAX_SLIDING_LOG_LIMIT} requests per window (got ${rule.limit}); use algorithm 'gcra' for larger limits`);
    }
  }
}
