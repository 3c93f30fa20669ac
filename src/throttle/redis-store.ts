/**
 * @module `RedisStore`: one EVALSHA per request decides every rule (consume.lua). A Redis that is not
 * connected fails at once, and one that does not answer within `timeoutMs` counts as failed, so a
 * request never waits on a dead Redis (no ioredis offline queue).
 */
import { randomBytes } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import { luaCommand, readLua, type LuaCommand } from '../cache/lua';
import { RedisCache } from '../cache/redis-cache';
import { withTimeout } from '../cache/with-timeout';
import { InvalidOptionError, StoreUnavailableError } from '../errors';
import type { ConsumeRule, Decision, RateLimitStore, RuleOutcome } from './store';
import { checkOptions } from '../utils/options';

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /** A call not answered by then fails with `StoreUnavailableError`. @default 100 */
  timeoutMs?: number;
}

const LIVE_STATUSES = new Set(['ready', 'connect', 'connecting', 'wait']);
let sequence = 0;
const processId = randomBytes(6).toString('hex');

export class RedisStore implements RateLimitStore {
  readonly client: Redis | Cluster;
  readonly timeoutMs: number;
  private readonly script: LuaCommand<number[]>;

  constructor(cacheOrClient: RedisCache | Redis | Cluster, options: RedisStoreOptions = {}) {
    checkOptions(options, ['timeoutMs'], 'RedisStore');
    const { timeoutMs = 100 } = options;
    if (cacheOrClient instanceof RedisCache) this.client = cacheOrClient.client;
    else if (cacheOrClient instanceof Redis || cacheOrClient instanceof Cluster) this.client = cacheOrClient;
    else throw new InvalidOptionError('cache', 'RedisStore needs a RedisCache or an ioredis client');
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidOptionError('storeTimeoutMs', 'must be a positive number (milliseconds)');
    this.timeoutMs = timeoutMs;
    this.script = luaCommand<number[]>(this.client, 'webtoolConsume', readLua(__dirname, 'consume'));
  }

  /** @throws StoreUnavailableError when Redis is not connected, fails, or is slower than `timeoutMs` */
  async consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    if (rules.length === 0) return { status: 'allowed', rules: [] };
    // Connecting (startup) may queue, bounded by the timeout; a lost connection fails at once.
    if (!LIVE_STATUSES.has(this.client.status)) throw new StoreUnavailableError(`Redis is not connected (${this.client.status})`);
    const args: (string | number)[] = [`${processId}${(sequence = (sequence + 1) % 1e12)}`];
    for (const rule of rules) args.push(rule.limit, rule.windowMs, rule.cost, rule.algorithm === 'gcra' ? 'g' : 'l');
    let reply: number[];
    try {
      reply = await withTimeout(this.script(rules.map((r) => r.key), args), this.timeoutMs, () => new StoreUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`));
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError('Redis rate-limit call failed', { cause: err });
    }
    const outcomes: RuleOutcome[] = rules.map((rule, i) => ({
      key: rule.key,
      limit: rule.limit,
      windowMs: rule.windowMs,
      allowed: reply[1 + 4 * i] === 1,
      remaining: Number(reply[2 + 4 * i]),
      resetMs: Number(reply[3 + 4 * i]),
      retryAfterMs: Number(reply[4 + 4 * i]),
    }));
    return { status: reply[0] === 1 ? 'allowed' : 'limited', rules: outcomes };
  }

  async reset(key: string): Promise<void> {
    await this.client.del(key);
  }
}
