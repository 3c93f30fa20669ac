/**
 * @module `MemoryStore`: the rate-limit store for one process (InMemoryCache, and the fallback
 * while Redis is down). Same semantics as the Redis script. Memory is bounded: entries carry their
 * expiry and one unref'd timer sweeps them (no timer per key), and past `maxKeys` the least recently
 * written key is evicted (that identity's count restarts — size the cap for your traffic).
 */
import { InvalidOptionError } from '../errors';
import { WriteOrderedMap } from '../utils/write-ordered-map';
import { checkStoreRules, type ConsumeRule, type Decision, type RateLimitStore, type RuleOutcome } from './store';
import { checkOptions } from '../utils/options';

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** Keys (identity × rule) kept at most. @default 1000000 */
  maxKeys?: number;
  /** @default 5000 */
  sweepIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface Entry {
  /**
   * sliding-log: one pair per admitted request, oldest first — its time, then the units admitted up to
   * and including it (a weighted request is one pair, issue 13 item 3). Live from `head` (a pair index)
   * on: no copying per request.
   */
  log?: number[];
  head?: number;
  /** sliding-log: units admitted before the pair at `head` (expired or compacted away). */
  expired?: number;
  /** gcra: theoretical arrival time. */
  tat?: number;
  expiresAt: number;
}

type Evaluation = { outcome: RuleOutcome; commit: () => Entry | undefined };

function slidingLog(rule: ConsumeRule, entry: Entry | undefined, now: number): Evaluation {
  const log = entry?.log ?? [];
  const pairs = log.length / 2;
  let head = entry?.head ?? 0;
  while (head < pairs && log[2 * head] <= now - rule.windowMs) head++;
  const expired = head > 0 ? log[2 * head - 1] : (entry?.expired ?? 0);
  const total = pairs > 0 ? log[2 * pairs - 1] : 0;
  const used = total - expired;
  const allowed = used + rule.cost <= rule.limit;
  let retryAfterMs = 0;
  if (!allowed) {
    // The first live request whose expiry frees enough units: binary search on the running count.
    const target = total + rule.cost - rule.limit;
    let lo = head;
    let hi = pairs - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (log[2 * mid + 1] >= target) hi = mid;
      else lo = mid + 1;
    }
    retryAfterMs = rule.cost > rule.limit ? rule.windowMs : log[2 * lo] + rule.windowMs - now;
  }
  const newest = allowed && rule.cost > 0 ? now : head < pairs ? log[2 * pairs - 2] : undefined;
  const outcome: RuleOutcome = {
    key: rule.key,
    limit: rule.limit,
    windowMs: rule.windowMs,
    allowed,
    remaining: allowed ? rule.limit - used - rule.cost : 0,
    resetMs: newest === undefined ? 0 : Math.max(0, newest + rule.windowMs - now),
    retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)),
  };
  return {
    outcome,
    commit: () => {
      if (rule.cost === 0) return undefined; // a free request changes nothing
      // Compact once the dead prefix dominates, so memory follows the live count (≤ 2 × live + 1).
      // Amortised O(1): the copy moves fewer entries than the dead ones it drops.
      const compact = head * 2 > pairs;
      const live = compact ? log.slice(2 * head) : log;
      live.push(now, total + rule.cost);
      return { log: live, head: compact ? 0 : head, expired, expiresAt: now + rule.windowMs };
    },
  };
}

function gcra(rule: ConsumeRule, entry: Entry | undefined, now: number): Evaluation {
  const interval = rule.windowMs / rule.limit;
  const tat = Math.max(entry?.tat ?? now, now);
  const newTat = tat + rule.cost * interval;
  const allowed = newTat - now <= rule.windowMs;
  const outcome: RuleOutcome = {
    key: rule.key,
    limit: rule.limit,
    windowMs: rule.windowMs,
    allowed,
    remaining: allowed ? Math.floor((rule.windowMs - (newTat - now)) / interval + 1e-9) : 0,
    resetMs: Math.ceil((allowed ? newTat : tat) - now),
    retryAfterMs: allowed ? 0 : Math.ceil(newTat - now - rule.windowMs),
  };
  return { outcome, commit: () => (rule.cost === 0 ? undefined : { tat: newTat, expiresAt: newTat }) };
}

/**
 * An in-process `RateLimitStore`.
 * @example const store = new MemoryStore({ maxKeys: 100_000 })
 */
export class MemoryStore implements RateLimitStore {
  readonly maxKeys: number;
  private readonly entries: WriteOrderedMap<string, Entry>;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    checkOptions(options, ['maxKeys', 'sweepIntervalMs', 'now'], 'MemoryStore');
    const { maxKeys = 1_000_000, sweepIntervalMs = 5000, now = Date.now } = options;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new InvalidOptionError('maxKeys', 'must be a positive integer');
    this.maxKeys = maxKeys;
    this.entries = new WriteOrderedMap(maxKeys);
    this.now = now;
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Decides all rules at once: all admit and count, or none counts.
   * @throws InvalidOptionError for a rule no store accepts (see `checkStoreRules`)
   */
  async consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    return this.consumeSync(rules);
  }

  /**
   * `consume`, synchronously (the limiter's path: no microtask hop).
   * @throws InvalidOptionError for a rule no store accepts (see `checkStoreRules`)
   */
  consumeSync(rules: readonly ConsumeRule[]): Decision {
    checkStoreRules(rules);
    const now = this.now();
    const evaluations = rules.map((rule) => {
      const entry = this.live(rule.key, now);
      return (rule.algorithm === 'gcra' ? gcra : slidingLog)(rule, entry, now);
    });
    // An optional rule never denies the request; it counts only where it admits.
    const allowed = evaluations.every((e, i) => e.outcome.allowed || rules[i].optional === true);
    if (allowed) {
      for (let i = 0; i < rules.length; i++) {
        if (!evaluations[i].outcome.allowed) continue;
        const entry = evaluations[i].commit();
        if (entry) this.entries.set(rules[i].key, entry);
      }
    }
    // A denied request spent nothing: rules that would have admitted it keep their full remainder.
    const outcomes = evaluations.map((e, i) => (allowed || !e.outcome.allowed ? e.outcome : { ...e.outcome, remaining: e.outcome.remaining + rules[i].cost }));
    return { status: allowed ? 'allowed' : 'limited', rules: outcomes };
  }

  async reset(key: string): Promise<void> {
    this.entries.delete(key);
  }

  /** Drops expired entries (runs on the timer). */
  sweep(now = this.now()): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.entries.clear();
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > now ? entry : undefined;
  }
}
