/**
 * @module `RedisStore`: one EVALSHA per request decides every rule (consume.lua).
 * Whether Redis is down is decided from the connection, not from one timer (issue 8 item 5): a
 * Redis that is not connected fails at once, a call in flight when the connection closes fails at
 * once, and a connected Redis is awaited up to `timeoutMs` (5 s by default) — a reply slowed by load or
 * event-loop lag is a reply, not an outage.
 */
import Redis, { type Cluster } from 'ioredis';
import { isCluster } from '../cache/cluster';
import { luaCommand, readLua, type LuaCommand } from '../cache/lua';
import { RedisCache } from '../cache/redis-cache';
import { InvalidOptionError, StoreUnavailableError } from '../errors';
import { clusterSlot } from '../utils/cluster-slot';
import { checkStoreRules, type ConsumeRule, type Decision, type RateLimitStore, type RuleOutcome } from './store';
import { checkOptions } from '../utils/options';
import { InFlightCalls } from './in-flight';

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /**
   * A connected Redis that has not answered by then fails this call with `StoreUnavailableError`
   * (a lost connection fails at once, whatever this is).
   * @default 5000 (`DEFAULT_STORE_TIMEOUT_MS`)
   */
  timeoutMs?: number;
}

/**
 * The default bound on one call to a *connected* Redis. Generous on purpose: on busy shared cores the
 * exactness suite saw replies of over a second from a healthy Redis, and answering such a request from
 * memory over-admits. A lost connection never waits on it (it fails at once).
 */
export const DEFAULT_STORE_TIMEOUT_MS = 5000;

/** The script's algorithm argument: lower case, or capitals for an optional rule. */
const ALGORITHM_ARG = { gcra: ['g', 'G'], 'sliding-log': ['l', 'L'] } as const;

const LIVE_STATUSES = new Set(['ready', 'connect', 'connecting', 'wait']);

/** True when the master owning `key`'s slot is known and not connected (or gone from the pool). */
function ownerIsDown(cluster: Cluster, key: string): boolean {
  const owner = cluster.slots[clusterSlot(key)]?.[0];
  if (owner === undefined) return false; // slots not known yet: ioredis routes (and queues) as usual
  const masters = cluster.nodes('master');
  for (const node of masters) {
    if (`${node.options.host}:${node.options.port}` === owner) return !LIVE_STATUSES.has(node.status);
  }
  return masters.length > 0; // the owner has left the connection pool: its connection is gone
}

/**
 * The shared rate-limit store on Redis (single or Cluster).
 * @example const store = new RedisStore(new RedisCache('redis://127.0.0.1:6379'))
 * @throws InvalidOptionError when the client or `timeoutMs` is wrong
 */
export class RedisStore implements RateLimitStore {
  readonly client: Redis | Cluster;
  readonly timeoutMs: number;
  private readonly script: LuaCommand<number[]>;
  /** Calls in flight, failed at once when the connection closes under them. */
  private readonly inFlight: InFlightCalls;
  /** The connection closed and has not been ready since (reconnect attempts included). */
  private lost = false;

  constructor(cacheOrClient: RedisCache | Redis | Cluster, options: RedisStoreOptions = {}) {
    checkOptions(options, ['timeoutMs'], 'RedisStore');
    if (cacheOrClient instanceof RedisCache) this.client = cacheOrClient.client;
    else if (cacheOrClient instanceof Redis || isCluster(cacheOrClient)) this.client = cacheOrClient;
    else throw new InvalidOptionError('cache', 'RedisStore needs a RedisCache or an ioredis client');
    const { timeoutMs = DEFAULT_STORE_TIMEOUT_MS } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidOptionError('storeTimeoutMs', 'must be a positive number (milliseconds)');
    this.timeoutMs = timeoutMs;
    this.inFlight = new InFlightCalls(timeoutMs, () => new StoreUnavailableError(`Redis did not answer within ${timeoutMs} ms`));
    this.script = luaCommand<number[]>(this.client, 'webtoolConsume', readLua(__dirname, 'consume'));
    this.client.on('ready', () => {
      this.lost = false;
    });
    this.client.on('close', () => {
      this.lost = true;
      this.inFlight.failAll(new StoreUnavailableError('Redis connection lost during the call', { disconnected: true }));
    });
  }

  /**
   * Not an async function: one promise per call (the store's), no extra hop.
   * @throws StoreUnavailableError when Redis is not connected (at once), the connection drops under
   * the call (at once), Redis fails, or a connected Redis is slower than `timeoutMs`
   * @throws InvalidOptionError for a rule no store accepts (see `checkStoreRules`)
   */
  consume(rules: readonly ConsumeRule[]): Promise<Decision> {
    if (rules.length === 0) return Promise.resolve({ status: 'allowed', rules: [] });
    try {
      checkStoreRules(rules);
      this.checkReachable(rules[0].key);
    } catch (err) {
      return Promise.reject(err);
    }
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const rule of rules) {
      keys.push(rule.key);
      args.push(rule.limit, rule.windowMs, rule.cost, ALGORITHM_ARG[rule.algorithm][rule.optional ? 1 : 0]);
    }
    return this.call(keys, args).then((reply) => decisionOf(rules, reply));
  }

  async reset(key: string): Promise<void> {
    await this.client.del(key);
  }

  /** @throws StoreUnavailableError when a call could not even be sent */
  private checkReachable(key: string): void {
    // The first connection may queue, bounded by the timeout; once lost, nothing waits until Redis is ready again.
    if (this.lost || !LIVE_STATUSES.has(this.client.status)) throw new StoreUnavailableError(`Redis is not connected (${this.client.status})`, { disconnected: true });
    // Issue 13 item 12: on a Cluster, a key whose master is known down fails at once, not after the timeout.
    if (isCluster(this.client) && ownerIsDown(this.client, key)) throw new StoreUnavailableError('the Redis Cluster node for this key is not connected', { disconnected: true });
  }

  /** Runs the script, bounded by `timeoutMs` of *waiting on Redis*, not of event-loop lag. */
  private call(keys: readonly string[], args: readonly (string | number)[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const call = this.inFlight.add(reject);
      this.script(keys, args).then(
        (reply) => {
          if (this.inFlight.settle(call)) resolve(reply);
        },
        (err: unknown) => {
          if (this.inFlight.settle(call)) reject(new StoreUnavailableError('Redis rate-limit call failed', { cause: err }));
        },
      );
    });
  }
}

/** The script's reply: `[admitted, then per rule: allowed, remaining, reset ms, retry-after ms]`. */
function decisionOf(rules: readonly ConsumeRule[], reply: number[]): Decision {
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
