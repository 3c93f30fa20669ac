/**
 * @module `MemoryStore`: the rate-limit store for one process (InMemoryCache, and the fallback
 * while Redis is down). Same semantics as the Redis script. Memory is bounded: entries carry their
 * expiry and one unref'd timer sweeps them (no timer per key), and past `maxKeys` the least recently
 * written key is evicted (that identity's count restarts — size the cap for your traffic).
 */
import { InvalidOptionError } from '../errors';
import { WriteOrderedMap } from '../utils/write-ordered-map';
import type { ConsumeRule, Decision, RateLimitStore, RuleOutcome } from './store';
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
  /** sliding-log: admitted request times, oldest first, live from `head` on (no copying per request). */
  log?: number[];
  head?: number;
  /** gcra: theoretical arrival time. */
  tat?: number;
  expiresAt: number;
}

type Evaluation = { outcome: RuleOutcome; commit: () => Entry };

function slidingLog(rule: ConsumeRule, entry: Entry | undefined, now: number): Evaluation {
  const log = entry?.log ?? [];
  let head = entry?.head ?? 0;
  while (head < log.length && log[head] <= now - rule.windowMs) head++;
  const count = log.length - head;
  const allowed = count + rule.cost <= rule.limit;
  let retryAfterMs = 0;
  if (!allowed) {
    const drop = count + rule.cost - rule.limit;
    retryAfterMs = rule.cost > rule.limit ? rule.windowMs : log[head + drop - 1] + rule.windowMs - now;
  }
  const newest = allowed && rule.cost > 0 ? now : count > 0 ? log[log.length - 1] : undefined;
  const outcome: RuleOutcome = {
    key: rule.key,
    limit: rule.limit,
    windowMs: rule.windowMs,
    allowed,
    remaining: allowed ? rule.limit - count - rule.cost : 0,
    resetMs: newest === undefined ? 0 : Math.max(0, newest + rule.windowMs - now),
    retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)),
  };
  return {
    outcome,
    commit: () => {
      // Compact once the dead prefix dominates, so memory follows the live count (≤ 2 × live + 1).
      // Amortised O(1): the copy moves fewer entries than the dead ones it drops.
      const live = head * 2 > log.length ? log.slice(head) : log;
      const start = live === log ? head : 0;
      for (let i = 0; i < rule.cost; i++) live.push(now);
      return { log: live, head: start, expiresAt: (live[live.length - 1] ?? now) + rule.windowMs };
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
  return { outcome, commit: () => ({ tat: newTat, expiresAt: newTat }) };
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

  /** Decides all rules at once: all admit and count, or none counts. */
  async consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    const now = this.now();
    const evaluations = rules.map((rule) => {
      const entry = this.live(rule.key, now);
      return (rule.algorithm === 'gcra' ? gcra : slidingLog)(rule, entry, now);
    });
    const allowed = evaluations.every((e) => e.outcome.allowed);
    if (allowed) rules.forEach((rule, i) => this.entries.set(rule.key, evaluations[i].commit()));
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
