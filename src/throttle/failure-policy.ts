/**
 * @module What to do when the rate-limit store fails — by composition, not flags: `ResilientStore`
 * wraps the primary store and decides with the policy while it is down.
 * - `open`: serve everything (logged once per outage);
 * - `closed`: answer 503 (`status: 'unavailable'`);
 * - `memory`: keep limiting with an in-process store until the primary answers again.
 */
import { StoreUnavailableError } from '../errors';
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
  /** @default console */
  logger?: Logger;
}

export class ResilientStore implements RateLimitStore {
  readonly onFailure: FailurePolicy;
  private readonly fallback?: RateLimitStore;
  private readonly logger: Logger;
  private down = false;

  constructor(private readonly primary: RateLimitStore, options: ResilientStoreOptions = {}) {
    checkOptions(options, ['onFailure', 'fallback', 'logger'], 'ResilientStore');
    this.onFailure = options.onFailure ?? 'memory';
    this.fallback = this.onFailure === 'memory' ? (options.fallback ?? new MemoryStore()) : undefined;
    this.logger = options.logger ?? console;
  }

  /** True while the primary is failing. */
  get degraded(): boolean {
    return this.down;
  }

  async consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    try {
      const decision = await this.primary.consume(rules);
      if (this.down) {
        this.down = false;
        this.logger.warn('[webtool] rate-limit store answers again; limits are shared once more');
      }
      return decision;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (!this.down) {
        this.down = true;
        this.logger.warn(`[webtool] ${err.code}: rate-limit store unavailable; failing ${this.onFailure}`);
      }
      if (this.onFailure === 'open') return { status: 'allowed', rules: [], degraded: true };
      if (this.onFailure === 'closed') return { status: 'unavailable', rules: [] };
      return { ...(await this.fallback!.consume(rules)), degraded: true };
    }
  }

  async reset(key: string): Promise<void> {
    await Promise.allSettled([this.primary.reset?.(key), this.fallback?.reset?.(key)]);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.primary.close?.(), this.fallback?.close?.()]);
  }
}
