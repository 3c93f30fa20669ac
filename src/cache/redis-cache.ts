/**
 * @module `RedisCache`: the production `Cache`, over ioredis (a single Redis or a Cluster).
 * Connection trouble never hangs a caller: every command is bounded by `commandTimeoutMs`, and
 * while the client is not connected commands fail at once with `CacheUnavailableError`.
 */
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { CacheUnavailableError, InvalidOptionError } from '../errors';
import type { Cache, Lock, LockOptions, ReadyOptions, SetOptions } from './cache';
import { endpoint, isCluster } from './cluster';
import { acquireLock } from './lock';
import { luaCommand, readLua } from './lua';
import { parseSetOptions } from './set-options';
import { withTimeout } from './with-timeout';
import { checkOptions } from '../utils/options';

/** Where warnings go. Messages name `host:port`, never URLs, passwords or values. */
export interface Logger {
  warn(message: string): void;
}

/** Options of `RedisCache` beyond the connection itself. */
export interface RedisCacheOptions {
  /** Prepended to every key this cache (and the services built on it) writes. @default '' */
  keyPrefix?: string;
  /** A command that has not answered by then fails with `CacheUnavailableError`. @default 1000 */
  commandTimeoutMs?: number;
  /** @default console */
  logger?: Logger;
}

/** The connection defaults used when webtool creates the client: fail fast, reconnect quickly. */
export const REDIS_DEFAULTS: RedisOptions = {
  connectTimeout: 2000,
  maxRetriesPerRequest: 1,
  // Capped low so a Redis that comes back is picked up within a quarter second.
  retryStrategy: (times) => Math.min(times * 50, 250),
  enableAutoPipelining: true,
};

/**
 * A `Cache` on Redis.
 * @example const cache = new RedisCache('redis://127.0.0.1:6379/0')
 * @throws InvalidOptionError when the connection argument or an option is wrong
 */
export class RedisCache implements Cache {
  /** The ioredis client; use it for anything the `Cache` interface does not cover. */
  readonly client: Redis | Cluster;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  private readonly owned: boolean;
  private readonly logger: Logger;
  /** `host:port` (or the Cluster's seed nodes) for messages: never the URL or the password. */
  readonly endpoint: string;
  private lastErrorCode?: string;
  private down = false;
  private closed = false;

  constructor(connection: string | RedisOptions | Redis | Cluster, options: RedisCacheOptions = {}) {
    checkOptions(options, ['keyPrefix', 'commandTimeoutMs', 'logger'], 'RedisCache');
    const { keyPrefix = '', commandTimeoutMs = 1000, logger = console } = options;
    if (typeof keyPrefix !== 'string') throw new InvalidOptionError('keyPrefix', 'must be a string');
    if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
      throw new InvalidOptionError('commandTimeoutMs', 'must be a positive number (milliseconds)');
    }
    this.keyPrefix = keyPrefix;
    this.commandTimeoutMs = commandTimeoutMs;
    this.logger = logger;
    if (connection instanceof Redis || isCluster(connection)) {
      this.client = connection;
      this.owned = false;
    } else if (typeof connection === 'string') {
      if (!/^rediss?:\/\//.test(connection)) throw new InvalidOptionError('url', 'must start with redis:// or rediss://');
      this.client = new Redis(connection, REDIS_DEFAULTS);
      this.owned = true;
    } else if (connection && typeof connection === 'object') {
      this.client = new Redis({ ...REDIS_DEFAULTS, ...connection });
      this.owned = true;
    } else {
      throw new InvalidOptionError('connection', 'give a redis:// URL, ioredis options, or an ioredis Redis/Cluster');
    }
    this.endpoint = endpoint(this.client);
    this.client.on('error', (err: Error) => this.markDown(err));
    this.client.on('end', () => this.markDown());
    this.client.on('close', () => this.markDown());
    this.client.on('ready', () => this.markUp());
  }

  /** True when commands can be sent now. */
  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Resolves once Redis answers; rejects after `timeoutMs` (or at once when the client gave up or
   * was closed) with `CacheUnavailableError` naming `host:port`, never the password. Call it at
   * startup to fail fast on a wrong URL instead of serving on the fallback.
   * @throws CacheUnavailableError; InvalidOptionError for a bad `timeoutMs`
   * @example await cache.ready({ timeoutMs: 5000 })
   */
  ready(options: ReadyOptions = {}): Promise<void> {
    const { timeoutMs = 5000 } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return Promise.reject(new InvalidOptionError('timeoutMs', 'must be a non-negative number (milliseconds)'));
    const unavailable = (why: string) => new CacheUnavailableError(`Redis at ${this.endpoint} ${why}${this.lastErrorCode ? ` (${this.lastErrorCode})` : ''}`);
    if (this.closed || this.client.status === 'end') return Promise.reject(unavailable('is closed'));
    if (this.client.status === 'ready') return Promise.resolve();
    // A lazyConnect client connects on its first command: ready() is one.
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('end', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(unavailable('closed the connection and gave up retrying'));
      const timer = setTimeout(() => done(unavailable(`was not ready within ${timeoutMs} ms`)), timeoutMs);
      this.client.on('ready', onReady);
      this.client.on('end', onEnd);
    });
  }

  async get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(this.keyPrefix + key));
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    const { expiry, nx } = parseSetOptions(options);
    const args: (string | number)[] = [this.keyPrefix + key, value, ...expiry];
    if (nx) args.push('NX');
    const reply = await this.run(() => this.client.call('SET', ...args));
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run(() => this.client.del(this.keyPrefix + key))) > 0;
  }

  lock(key: string, options?: LockOptions): Promise<Lock> {
    const full = this.keyPrefix + key;
    const release = luaCommand<number>(this.client, 'webtoolReleaseLock', readLua(__dirname, 'release-lock'));
    const extend = luaCommand<number>(this.client, 'webtoolExtendLock', readLua(__dirname, 'extend-lock'));
    return acquireLock(key, options, async (token, ttlMs) => (await this.run(() => this.client.set(full, token, 'PX', ttlMs, 'NX'))) === 'OK', {
      release: async (token) => (await this.run(() => release([full], [token]))) === 1,
      extend: async (token, ttlMs) => (await this.run(() => extend([full], [token, ttlMs]))) === 1,
    });
  }

  /**
   * Runs a command bounded by `commandTimeoutMs`; fails at once while disconnected.
   * Services built on this cache (JWT, rate limits) send their scripts through it too.
   * @throws CacheUnavailableError
   */
  async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CacheUnavailableError('the cache is closed');
    const status = this.client.status;
    if (status !== 'ready' && status !== 'connect' && status !== 'wait' && status !== 'connecting') {
      throw new CacheUnavailableError(`Redis is not connected (${status})`);
    }
    try {
      return await withTimeout(command(), this.commandTimeoutMs, () => new CacheUnavailableError(`Redis did not answer within ${this.commandTimeoutMs} ms`));
    } catch (err) {
      if (err instanceof CacheUnavailableError || (err as Error).name === 'ReplyError') throw err;
      throw new CacheUnavailableError('Redis command failed', { cause: err });
    }
  }

  /** Quits the client if webtool created it; a client passed in stays open (its owner closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned) return;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  private markDown(err?: Error): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code) this.lastErrorCode = code;
    if (this.down || this.closed) return;
    this.down = true;
    // Once per outage; host:port and the error code only: messages can carry URLs, never passwords.
    this.logger.warn(`[webtool] ERR_WT_CACHE_UNAVAILABLE: Redis at ${this.endpoint} unreachable${code ? ` (${code})` : ''}; calls fail fast with CacheUnavailableError until it is back (retrying)`);
  }

  private markUp(): void {
    const wasDown = this.down;
    this.down = false;
    this.lastErrorCode = undefined;
    if (wasDown) this.logger.warn(`[webtool] Redis at ${this.endpoint} connection restored`);
  }
}
