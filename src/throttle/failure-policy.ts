/**
 * @module What to do when the rate-limit store fails — by composition, not flags: `ResilientStore`
 * wraps the primary store and decides with the policy while it is down.
 * - `open`: serve everything (logged once per outage);
 * - `closed`: answer 503 (`status: 'unavailable'`);
 * - `memory`: keep limiting with an in-process store until the primary answers again.
 *
 * "Down" is decided by a breaker, not by one slow call (issue 8 item 5): a store that reports its
 * connection lost is down at once (it fails fast, so every request still tries it and the first
 * success ends the outage); `breakerFailures` consecutive failures of a connected store open the
 * breaker, and then one request at a time probes the primary while the others use the policy.
 * A single failure of a connected store is not an outage: the policy `memory` cannot know whether
 * the primary counted that request, so that one request is answered `unavailable` (503), never
 * admitted by a second, separate count.
 */
import { InvalidOptionError, StoreUnavailableError } from '../errors';
import type { Logger } from '../cache/redis-cache';
import { MemoryStore } from './memory-store';
import type { ConsumeRule, Decision, RateLimitStore } from './store';
import { checkOptions } from '../utils/options';

export type FailurePolicy = 'open' | 'closed' | 'memory';

/** Options of `ResilientStore`. */
export interface ResilientStoreOptions {
  /** @default 'memory' */
  onFailure?: FailurePolicy;
  /** The store used by the `memory` policy. @default new MemoryStore() */
  fallback?: RateLimitStore;
  /** Consecutive failures of a connected primary that open the breaker. @default 3 */
  breakerFailures?: number;
  /** @default console */
  logger?: Logger;
}

/** An outage ends (and "answers again" is logged) after this long without a failure: one warning pair per outage. */
const QUIET_MS = 1000;

/**
 * A store that survives its primary's outages with a failure policy.
 * @example new ResilientStore(new RedisStore(cache), { onFailure: 'closed' })
 */
export class ResilientStore implements RateLimitStore {
  readonly onFailure: FailurePolicy;
  readonly breakerFailures: number;
  private readonly fallback?: RateLimitStore;
  private readonly logger: Logger;
  /** An outage is under way (warned once). */
  private down = false;
  private lastFailureAt = 0;
  private consecutiveFailures = 0;
  private probing = false;

  constructor(private readonly primary: RateLimitStore, options: ResilientStoreOptions = {}) {
    checkOptions(options, ['onFailure', 'fallback', 'logger', 'breakerFailures'], 'ResilientStore');
    this.onFailure = options.onFailure ?? 'memory';
    this.breakerFailures = options.breakerFailures ?? 3;
    if (!Number.isInteger(this.breakerFailures) || this.breakerFailures < 1) throw new InvalidOptionError('breakerFailures', 'must be a positive integer');
    this.fallback = this.onFailure === 'memory' ? (options.fallback ?? new MemoryStore()) : undefined;
    this.logger = options.logger ?? console;
  }

  /** True while the primary is failing (from its first failure until it has answered for a second without one). */
  get degraded(): boolean {
    return this.down;
  }

  /** Not an async function: the primary's promise plus one `then`, no extra hop per request. */
  consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    const breakerOpen = this.consecutiveFailures >= this.breakerFailures;
    // An open breaker lets one request at a time probe the primary; the others use the policy.
    if (breakerOpen && this.probing) return this.decideWithout(rules);
    if (breakerOpen) this.probing = true;
    let answer: Promise<Decision>;
    try {
      answer = Promise.resolve(this.primary.consume(rules));
    } catch (err) {
      answer = Promise.reject(err);
    }
    return answer.then(
      (decision) => {
        if (breakerOpen) this.probing = false;
        this.succeeded();
        return decision;
      },
      (err: unknown) => {
        if (breakerOpen) this.probing = false;
        if (!(err instanceof StoreUnavailableError)) throw err;
        return this.failed(err, rules);
      },
    );
  }

  async reset(key: string): Promise<void> {
    await Promise.allSettled([this.primary.reset?.(key), this.fallback?.reset?.(key)]);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.primary.close?.(), this.fallback?.close?.()]);
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    // Successes on other Cluster masters during a partial outage do not end it: only a quiet second does.
    if (this.down && Date.now() - this.lastFailureAt >= QUIET_MS) {
      this.down = false;
      this.logger.warn('[webtool] rate-limit store answers again; limits are shared once more');
    }
  }

  private failed(err: StoreUnavailableError, rules: readonly ConsumeRule[]): Promise<Decision> | Decision {
    this.lastFailureAt = Date.now();
    if (!err.disconnected && ++this.consecutiveFailures < this.breakerFailures) {
      // One failure of a connected store: not an outage. Its outcome is unknown (the primary may have
      // counted it), so only `open` admits; `memory` would count it a second time apart.
      return this.onFailure === 'open' ? { status: 'allowed', rules: [], degraded: true } : { status: 'unavailable', rules: [] };
    }
    if (!this.down) {
      this.down = true;
      // The message says which (not connected, connection lost, no answer in time); it never holds a URL or value.
      this.logger.warn(`[webtool] ${err.code}: rate-limit store unavailable (${err.message}); failing ${this.onFailure}`);
    }
    return this.decideWithout(rules);
  }

  private async decideWithout(rules: readonly ConsumeRule[]): Promise<Decision> {
    if (this.onFailure === 'open') return { status: 'allowed', rules: [], degraded: true };
    if (this.onFailure === 'closed') return { status: 'unavailable', rules: [] };
    return { ...(await this.fallback!.consume(rules)), degraded: true };
  }
}
