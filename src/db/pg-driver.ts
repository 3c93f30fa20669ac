/**
 * @module `Driver` over pg's `Pool`. Acquire is bounded by webtool itself (pg's `connectionTimeoutMillis`
 * leaks a late client, node-postgres#3543): a client that arrives after the bound is released at once.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { DbUnavailableError } from '../errors';
import type { Driver, Lease, PoolStats, QueryInput, QueryResult } from './driver';
import { sanitizeError } from './sanitize';
import type { Logger } from './logger';

/** Options of {@link PgDriver}: a connection string or a pg `PoolConfig`, or a pool you built. */
export interface PgDriverOptions {
  /** `postgres://…`; never logged. */
  connectionString?: string;
  /** More pg `PoolConfig`; `max` defaults to 10. */
  pool?: PoolConfig;
  /** Logs pool errors (idle clients losing their connection) without the client. */
  logger?: Logger;
  /**
   * Runs `DISCARD ALL` before a connection goes back to the pool, so session state a request left behind
   * (`SET` without LOCAL, `set_config(…, false)`, prepared statements, temp tables) never reaches the next one.
   * Costs one round trip per release. @default false
   */
  resetOnRelease?: boolean;
}

function rethrowSanitized(err: unknown): never {
  throw sanitizeError(err);
}

class PgLease implements Lease {
  private broken = false;
  private released = false;
  private readonly onError = (err: Error) => {
    // A checked-out client whose connection dies emits 'error'; without a listener the process would crash.
    this.broken = true;
    this.logger?.warn('webtool/db: connection error on a leased client', sanitizeError(err).message);
  };

  constructor(private readonly client: PoolClient, private readonly logger?: Logger, private readonly reset = false) {
    client.on('error', this.onError);
  }

  query<R>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    return (this.client.query(query as any, values as any[]) as unknown as Promise<QueryResult<R>>).catch(rethrowSanitized);
  }

  async batch(statements: readonly string[]): Promise<string | undefined> {
    try {
      // No values: pg sends the string with the simple query protocol, one round trip for all of it.
      const results = (await this.client.query(statements.join('; '))) as unknown as { command: string } | { command: string }[];
      return Array.isArray(results) ? results[results.length - 1]?.command : results.command;
    } catch (err) {
      throw sanitizeError(err);
    }
  }

  release(destroy = false): void {
    if (this.released) return;
    this.released = true;
    // A connection still inside a transaction (a client released after BEGIN) must not serve the next caller.
    const status = (this.client as { getTransactionStatus?: () => string | null }).getTransactionStatus?.();
    if (status === 'T' || status === 'E') destroy = true;
    if (destroy || this.broken || !this.reset) {
      this.client.removeListener('error', this.onError);
      this.client.release(destroy || this.broken ? true : undefined);
      return;
    }
    // The pool gets the client back only once it is clean; a client that cannot be reset is destroyed.
    this.client.query('DISCARD ALL').then(
      () => this.client.release(this.broken ? true : undefined),
      () => this.client.release(true),
    ).finally(() => this.client.removeListener('error', this.onError));
  }
}

/** pg `Pool` behind the `Driver` interface. */
export class PgDriver implements Driver {
  readonly kind = 'pg';
  readonly reportsCommandTag = true;
  readonly maxConnections: number;
  private readonly pool: Pool;
  private closed?: Promise<void>;

  constructor(options: PgDriverOptions) {
    // Loaded lazily: pg is an optional peer.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pg = require('pg') as typeof import('pg');
    this.pool = new pg.Pool({ max: 10, ...options.pool, connectionString: options.connectionString ?? options.pool?.connectionString });
    this.maxConnections = this.pool.options.max ?? 10;
    this.pool.on('error', (err) => options.logger?.warn('webtool/db: idle client error', sanitizeError(err).message));
    this.logger = options.logger;
    this.resetOnRelease = options.resetOnRelease ?? false;
  }

  private readonly resetOnRelease: boolean;

  private readonly logger?: Logger;

  acquire(timeoutMs: number): Promise<Lease> {
    if (this.closed) return Promise.reject(new DbUnavailableError('database is closed'));
    const lease = (client: PoolClient) => new PgLease(client, this.logger, this.resetOnRelease);
    const unreachable = (err: unknown) => new DbUnavailableError('cannot connect to the database', { cause: sanitizeError(err) });
    // More idle clients than callers waiting: pg-pool hands one over on the next tick, so no timer is needed.
    if (this.pool.idleCount > this.pool.waitingCount) {
      return this.pool.connect().then(lease, (err) => Promise.reject(unreachable(err)));
    }
    return new Promise<Lease>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new DbUnavailableError(`no database connection within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pool.connect().then(
        (client) => {
          if (late) return client.release();
          clearTimeout(timer);
          resolve(lease(client));
        },
        (err) => {
          if (late) return;
          clearTimeout(timer);
          reject(unreachable(err));
        },
      );
    });
  }

  stats(): PoolStats {
    const { totalCount, idleCount, waitingCount } = this.pool;
    return { totalCount, idleCount, waitingCount, maxConnections: this.maxConnections };
  }

  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }
}
