/**
 * @module A pg-`Pool`-compatible handle whose `query` and `connect` join the current webtool transaction, so
 * Kysely's `PostgresDialect`, Drizzle's node-postgres driver and raw pg code take part without patches.
 * Inside a transaction, the client's own BEGIN / COMMIT / ROLLBACK become a savepoint, its release and
 * its rollback: a query builder's `transaction()` nests instead of committing webtool's transaction early.
 */
import { TransactionAbortedError } from '../errors';
import type { Scope } from './context';
import type { Driver, Lease, QueryInput, QueryResult } from './driver';
import { checkJoinable, type IsolationLevel, type TransactionOptions } from './options';
import { isConnectionError } from './sanitize';
import { Level } from './transaction';

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

/** What a BEGIN asks for: a joined transaction cannot honour a stricter isolation or another access mode. */
function beginOptions(sql: string): TransactionOptions {
  const options: TransactionOptions = {};
  const isolation = /isolation\s+level\s+(serializable|repeatable\s+read|read\s+committed|read\s+uncommitted)/i.exec(sql)?.[1].toLowerCase().replace(/\s+/g, ' ');
  if (isolation) options.isolation = isolation === 'read uncommitted' ? 'read committed' : (isolation as IsolationLevel);
  if (/\bread\s+only\b/i.test(sql)) options.readOnly = true;
  else if (/\bread\s+write\b/i.test(sql)) options.readOnly = false;
  return options;
}

type Callback<T> = (err: Error | null, result?: T) => void;

/** pg's callback forms: the last function argument gets (err, result) and nothing is returned. */
function settle<T>(work: Promise<T>, callback: unknown): Promise<T> | undefined {
  if (typeof callback !== 'function') return work;
  work.then(
    (result) => (callback as Callback<T>)(null, result),
    (err: Error) => (callback as Callback<T>)(err),
  );
  return undefined;
}

/** Values must be an array (or absent): anything else is refused before it reaches a driver. */
function checkValues(values: unknown): unknown[] | undefined {
  if (values === undefined || values === null) return undefined;
  if (!Array.isArray(values)) throw new TypeError('webtool/db: query values must be an array');
  return values;
}

/** A client joined to a webtool transaction: `release()` returns nothing, the transaction owns the connection. */
export class ScopedClient {
  private readonly savepoints: { name: string; level: Level }[] = [];
  private released = false;
  private broken = false;

  constructor(private readonly scope: Scope | undefined, private readonly lease: Lease | undefined) {}

  /** pg's forms: `query(text | config, values?)` → Promise, or with a callback last → undefined. */
  query<R = any>(query: QueryInput, values?: unknown[] | Callback<QueryResult<R>>, callback?: Callback<QueryResult<R>>): Promise<QueryResult<R>> {
    if (typeof values === 'function') return settle(this.run<R>(query, undefined), values) as Promise<QueryResult<R>>;
    return settle(this.run<R>(query, values), callback) as Promise<QueryResult<R>>;
  }

  private async run<R>(query: QueryInput, rawValues: unknown): Promise<QueryResult<R>> {
    if (this.released) throw new Error('webtool/db: query on a released client');
    const values = checkValues(rawValues);
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
    const current = this.savepoints[this.savepoints.length - 1];
    const level = current?.level ?? scope.level;
    if (BEGIN.test(sql)) {
      // What `withRollback` pins is the test's own transaction: the code under test may ask for any isolation.
      if (!scope.pinned) checkJoinable(scope.tx.options, beginOptions(sql));
      const child = new Level(level);
      this.savepoints.push({ name: await scope.tx.savepoint(child), level: child });
      return { rows: [], rowCount: null, command: 'BEGIN' };
    }
    if (current && COMMIT.test(sql)) {
      this.savepoints.pop();
      await scope.tx.releaseSavepoint(current.name);
      return { rows: [], rowCount: null, command: 'COMMIT' };
    }
    if (current && ROLLBACK.test(sql)) {
      this.savepoints.pop();
      await scope.tx.rollbackToSavepoint(current.name);
      return { rows: [], rowCount: null, command: 'ROLLBACK' };
    }
    return scope.tx.query<R>(query, values, level);
  }

  /**
   * pg's signature: `release(err)` destroys the connection. A client released with its transaction (BEGIN)
   * still open has that savepoint rolled back, as pg's destroyed connection would lose it; released without
   * an error, its scope is also doomed, since the caller never decided to commit.
   */
  release(err?: unknown): void {
    if (this.released) return;
    this.released = true;
    const { scope } = this;
    if (scope && this.savepoints.length > 0) {
      const outermost = this.savepoints[0];
      this.savepoints.length = 0;
      scope.tx.track(scope.tx.rollbackToSavepoint(outermost.name).catch((e) => scope.level.markRollbackOnly(e)));
      if (!err) scope.level.markRollbackOnly(new TransactionAbortedError('a db.pool client was released with its transaction (BEGIN) still open; it was rolled back'));
      return;
    }
    // Outside a transaction: a connection released inside its own BEGIN is closed (pg) or rolled back
    // (PGlite) by the driver, so the next user of it starts clean.
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

  /** Runs in the current transaction, or on its own outside one; pg's callback form too. */
  query<R = any>(query: QueryInput, values?: unknown[] | Callback<QueryResult<R>>, callback?: Callback<QueryResult<R>>): Promise<QueryResult<R>> {
    const cb = typeof values === 'function' ? values : callback;
    const work = (async () => this.owner.query(query, checkValues(typeof values === 'function' ? undefined : values)) as Promise<QueryResult<R>>)();
    return settle(work, cb) as Promise<QueryResult<R>>;
  }

  /** A client in the current transaction, or a leased connection (bounded by `acquireTimeoutMs`) outside one; pg's `connect(cb)` too. */
  connect(callback?: (err: Error | null, client?: ScopedClient, done?: (err?: unknown) => void) => void): Promise<ScopedClient> {
    const work = this.acquire();
    if (typeof callback !== 'function') return work;
    work.then(
      (client) => callback(null, client, (err?: unknown) => client.release(err)),
      (err: Error) => callback(err),
    );
    return undefined as unknown as Promise<ScopedClient>;
  }

  private async acquire(): Promise<ScopedClient> {
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
