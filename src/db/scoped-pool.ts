/**
 * @module A pg-`Pool`-compatible handle whose `query` and `connect` join the current webtool transaction, so
 * Kysely's `PostgresDialect`, Drizzle's node-postgres driver and raw pg code take part without patches.
 * Inside a transaction, the client's own BEGIN / COMMIT / ROLLBACK become a savepoint, its release and
 * its rollback: a query builder's `transaction()` nests instead of committing webtool's transaction early.
 */
import type { Scope } from './context';
import type { Driver, Lease, QueryInput, QueryResult } from './driver';
import { isConnectionError } from './sanitize';

/** What the scoped pool needs from its Database. */
interface Owner {
  currentScope(): Scope | undefined;
  autocommitDriver(): Driver;
  readonly acquireTimeoutMs: number;
  query(query: QueryInput, values?: unknown[]): Promise<QueryResult>;
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*(commit|end)\s*;?\s*$/i;
const ROLLBACK = /^\s*(rollback|abort)\s*;?\s*$/i;

function text(query: QueryInput): string {
  return typeof query === 'string' ? query : query.text;
}

/** A client joined to a webtool transaction: `release()` returns nothing, the transaction owns the connection. */
export class ScopedClient {
  private readonly savepoints: string[] = [];
  private released = false;

  constructor(private readonly scope: Scope | undefined, private readonly lease: Lease | undefined) {}

  async query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.released) throw new Error('webtool/db: query on a released client');
    const { scope } = this;
    if (!scope) {
      try {
        return await this.lease!.query<R>(query, values);
      } catch (err) {
        if (isConnectionError(err)) this.broken = true;
        throw err;
      }
    }
    const sql = text(query);
    if (BEGIN.test(sql)) {
      this.savepoints.push(await scope.tx.savepoint());
      return { rows: [], rowCount: null, command: 'BEGIN' };
    }
    if (this.savepoints.length > 0 && COMMIT.test(sql)) {
      await scope.tx.releaseSavepoint(this.savepoints.pop()!);
      return { rows: [], rowCount: null, command: 'COMMIT' };
    }
    if (this.savepoints.length > 0 && ROLLBACK.test(sql)) {
      await scope.tx.rollbackToSavepoint(this.savepoints.pop()!);
      return { rows: [], rowCount: null, command: 'ROLLBACK' };
    }
    return scope.tx.query<R>(query, values);
  }

  private broken = false;

  /** pg's signature: `release(err)` destroys the connection. */
  release(err?: unknown): void {
    if (this.released) return;
    this.released = true;
    this.lease?.release(Boolean(err) || this.broken);
  }

  /** pg clients are event emitters; Kysely and Drizzle do not listen, so this accepts and ignores listeners. */
  on(): this {
    return this;
  }
}

/** pg `Pool`-shaped handle routed through webtool's transaction scope. `end()` is a no-op: `db.close()` owns the connections. */
export class ScopedPool {
  constructor(private readonly owner: Owner) {}

  /** Runs in the current transaction, or on its own outside one. */
  query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    return this.owner.query(query, values) as Promise<QueryResult<R>>;
  }

  /** A client in the current transaction, or a leased connection (bounded by `acquireTimeoutMs`) outside one. */
  async connect(): Promise<ScopedClient> {
    const scope = this.owner.currentScope();
    if (scope) return new ScopedClient(scope, undefined);
    const lease = await this.owner.autocommitDriver().acquire(this.owner.acquireTimeoutMs);
    return new ScopedClient(undefined, lease);
  }

  async end(): Promise<void> {}

  on(): this {
    return this;
  }
}
