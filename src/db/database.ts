/**
 * @module `Database`: request-scoped transactions over a `Driver` (pg or PGlite). The current scope travels
 * through AsyncLocalStorage, so it survives `await`, `Promise.all`, timers and body parsers that re-enter it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DbClosedError, InvalidOptionError, SerializationError, TransactionAbortedError, TransactionPropagationError } from '../errors';
import type { RequestState, Scope, Store } from './context';
import type { Driver, QueryInput, QueryResult } from './driver';
import { checkDriver, type Health } from './health';
import { runHooks } from './hooks';
import type { Logger } from './logger';
import { backoffMs, checkJoinable, checkOptions, parseRetry, RETRYABLE_SQLSTATES, type RetryOptions, type RetryPolicy, type TransactionOptions } from './options';
import { PgDriver } from './pg-driver';
import { PGliteDriver } from './pglite-driver';
import { isConnectionError, sanitizeError, sqlState } from './sanitize';
import { ScopedPool } from './scoped-pool';
import { settlesWithin } from './settles-within';
import { Activity, Level, Transaction, type Hook } from './transaction';

/** Options of {@link Database}. */
export interface DatabaseOptions {
  /** A `postgres://` URL (pg pool), or a `Driver`. @default PGlite in memory */
  primary?: string | Driver;
  /** Read replicas: `readOnly` transactions go to them until the request has used the primary. */
  replicas?: (string | Driver)[];
  /** Bound on waiting for a connection; then `DbUnavailableError` (503). @default 5000 */
  acquireTimeoutMs?: number;
  /** Pool size of pools built from URLs. @default 10 */
  maxConnections?: number;
  /** Retry of 40001/40P01 on the outermost scope. @default { attempts: 10, baseMs: 10, maxMs: 500 } */
  retry?: false | RetryOptions;
  /** @default console */
  logger?: Logger;
  /**
   * `DISCARD ALL` before each pooled connection (built from a URL) goes back to the pool: session state
   * (`SET` without LOCAL, `set_config(…, false)`) set by one request never leaks into the next. @default false
   */
  resetOnRelease?: boolean;
}

/** A statement runner: what `db.transaction` hands its callback, and what `db.query` is. */
export interface SqlClient {
  query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>>;
}

const defaultRetry: RetryPolicy = { attempts: 10, baseMs: 10, maxMs: 500 };

/**
 * Request-scoped PostgreSQL transactions.
 * @example
 * const db = Database.fromEnv();
 * await db.transaction(async (tx) => tx.query('UPDATE users SET name = $1 WHERE id = $2', ['a', 1]));
 */
export class Database implements SqlClient {
  /** A pg-compatible pool whose `query`/`connect` join the current transaction: give it to Kysely, Drizzle or pg code. */
  readonly pool: ScopedPool;
  readonly primary: Driver;
  readonly replicas: Driver[];
  readonly acquireTimeoutMs: number;
  private readonly retry: RetryPolicy | false;
  private readonly logger: Logger;
  private readonly als = new AsyncLocalStorage<Store>();
  private pinned?: Scope;
  private active = 0;
  private nextReplica = 0;
  private closing?: Promise<void>;
  private drained?: () => void;

  /** @throws InvalidOptionError naming the option */
  constructor(options: DatabaseOptions = {}) {
    const max = options.maxConnections ?? 10;
    if (!Number.isInteger(max) || max < 1) throw new InvalidOptionError('maxConnections', 'must be an integer ≥ 1');
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 5000;
    if (!Number.isInteger(this.acquireTimeoutMs) || this.acquireTimeoutMs < 1) throw new InvalidOptionError('acquireTimeoutMs', 'must be an integer ≥ 1');
    this.retry = parseRetry(options.retry, defaultRetry);
    this.logger = options.logger ?? console;
    const driver = (option: string, d: string | Driver) => {
      if (typeof d !== 'string') return d;
      // The URL itself is never echoed: it may carry a password.
      if (!/^postgres(ql)?:\/\//.test(d)) throw new InvalidOptionError(option, 'must be a postgres:// URL or a Driver');
      return new PgDriver({ connectionString: d, pool: { max }, logger: this.logger, resetOnRelease: options.resetOnRelease });
    };
    this.primary = options.primary === undefined ? new PGliteDriver() : driver('primary', options.primary);
    this.replicas = (options.replicas ?? []).map((r, i) => driver(`replicas[${i}]`, r));
    this.pool = new ScopedPool(this);
  }

  /**
   * `DATABASE_URL` → pg (with `DATABASE_REPLICA_URLS`, comma-separated, as replicas);
   * otherwise PGlite in `WEBTOOL_PGLITE_DIR`, or in memory.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: Omit<DatabaseOptions, 'primary' | 'replicas'> = {}): Database {
    const url = env.DATABASE_URL;
    if (url) {
      const replicas = (env.DATABASE_REPLICA_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      return new Database({ ...options, primary: url, replicas });
    }
    return new Database({ ...options, primary: new PGliteDriver({ dataDir: env.WEBTOOL_PGLITE_DIR || undefined }) });
  }

  /** The scope statements run in now: the current transaction, else the one `withRollback` pinned. @internal */
  currentScope(): Scope | undefined {
    const store = this.als.getStore();
    // `pin`: the withRollback scope this code runs under; once it ended, its statements fail, never autocommit.
    return store?.scope ?? store?.pin ?? this.pinned;
  }

  /** A client bound to `scope`: its statements run there, from whatever async context, or fail once it ended. */
  private bound(scope: Scope): SqlClient {
    return { query: (query, values) => scope.tx.query(query, values, scope.level) };
  }

  /** A client that runs every statement on its own (autocommit), whatever transaction is current where it is used. */
  private readonly unbound: SqlClient = { query: (query, values) => this.autocommitQuery(query, values) };

  /** Whether a statement run now would run inside a transaction. */
  inTransaction(): boolean {
    return this.currentScope() !== undefined;
  }

  /** Runs a statement in the current transaction, or on its own (autocommit) outside one. */
  async query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    const scope = this.currentScope();
    if (scope) return scope.tx.query<R>(query, values, scope.level);
    return this.autocommitQuery<R>(query, values);
  }

  /** Runs a statement on its own (autocommit), on the primary. */
  private async autocommitQuery<R>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    const lease = await this.autocommitDriver().acquire(this.acquireTimeoutMs);
    let broken = false;
    try {
      return await lease.query<R>(query, values);
    } catch (err) {
      broken = isConnectionError(err);
      throw sanitizeError(err);
    } finally {
      lease.release(broken);
    }
  }

  /** The driver autocommit statements use: the primary (and the request sticks to it). @internal */
  autocommitDriver(): Driver {
    if (this.closing) throw new DbClosedError('database is closed');
    const store = this.als.getStore();
    if (store) store.request.usedPrimary = true;
    return this.primary;
  }

  /**
   * Runs `fn` in a transaction according to `options.propagation`; commits when it returns, rolls back when it
   * throws. The outermost scope retries 40001/40P01 (the whole `fn`, which must therefore be safe to re-run).
   * @throws TransactionAbortedError when COMMIT did not commit; SerializationError when retries ran out;
   *   TransactionPropagationError; DbUnavailableError; or what `fn` threw
   */
  async transaction<T>(fn: (tx: SqlClient) => Promise<T> | T, options: TransactionOptions = {}): Promise<T> {
    checkOptions(options);
    const store = this.als.getStore();
    if (store?.pin && store.pin !== this.pinned) throw new TransactionAbortedError('withRollback has ended; a transaction it started cannot begin after it');
    const outer = store?.scope;
    const request = store?.request ?? { usedPrimary: false };
    const single = outer !== undefined && outer.tx.driver.maxConnections === 1 && !this.pinned;
    const fresh = () => (this.pinned ? this.nested(outer ?? this.pinned, fn, request, true) : this.root(fn, options, request));
    const join = (scope: Scope) => (checkJoinable(scope.tx.options, options), withTimeout(scope, options.timeoutMs, () => this.join(scope, fn)));
    switch (options.propagation ?? 'required') {
      case 'required':
        return outer ? join(outer) : fresh();
      case 'supports':
        return outer ? join(outer) : this.withoutTransaction(fn, request);
      case 'mandatory':
        if (!outer) throw new TransactionPropagationError('propagation "mandatory": no transaction is running');
        return join(outer);
      case 'never':
        if (outer) throw new TransactionPropagationError('propagation "never": a transaction is running');
        return this.withoutTransaction(fn, request);
      case 'nested':
        if (!outer) return fresh();
        checkJoinable(outer.tx.options, options);
        return this.nested(outer, (tx) => withTimeout(this.currentScope()!, options.timeoutMs, () => fn(tx)), request, false);
      case 'requires_new':
        if (single) throw new TransactionPropagationError('propagation "requires_new" inside a transaction needs a second connection, and this driver (PGlite) has one');
        return fresh();
      case 'not_supported':
        if (single) throw new TransactionPropagationError('propagation "not_supported" inside a transaction needs a second connection, and this driver (PGlite) has one');
        return this.withoutTransaction(fn, request);
    }
  }

  /** Registers a hook run once after the current transaction commits (at once outside a transaction). */
  afterCommit(hook: () => unknown): void {
    const scope = this.currentScope();
    if (scope && scope !== this.pinned) scope.level.afterCommit.push(hook);
    else void runHooks([hook], this.logger, 'afterCommit');
  }

  /** Registers a hook run once after the current transaction (or its savepoint) rolls back; it gets the error. */
  afterRollback(hook: (error: unknown) => unknown): void {
    const scope = this.currentScope();
    if (scope && scope !== this.pinned) scope.level.afterRollback.push(hook as Hook);
  }

  private async join<T>(scope: Scope, fn: (tx: SqlClient) => Promise<T> | T): Promise<T> {
    try {
      return await fn(this.bound(scope));
    } catch (err) {
      // Spring's rule: an error that leaves a joined scope dooms the whole transaction.
      scope.level.markRollbackOnly(err);
      throw err;
    }
  }

  private withoutTransaction<T>(fn: (tx: SqlClient) => Promise<T> | T, request: RequestState): Promise<T> {
    return this.als.run({ scope: undefined, request, pin: this.als.getStore()?.pin }, async () => fn(this.unbound));
  }

  private async root<T>(fn: (tx: SqlClient) => Promise<T> | T, options: TransactionOptions, request: RequestState): Promise<T> {
    if (this.closing) throw new DbClosedError('database is closed');
    const policy = parseRetry(options.retry, this.retry);
    this.active++;
    try {
      for (let attempt = 1; ; attempt++) {
        const driver = this.pickDriver(options, request);
        const tx = new Transaction(driver, options, this.acquireTimeoutMs, driver === this.primary ? () => (request.usedPrimary = true) : undefined, (request.activity ??= new Activity()));
        const scope: Scope = { tx, level: new Level() };
        let result: T;
        try {
          result = await this.als.run({ scope, request }, async () => fn(this.bound(scope)));
          // A statement fired but not awaited by fn must fail now, never slip in before (or after) COMMIT.
          tx.seal('the transaction is committing: a statement its scope did not await cannot join it');
          await tx.commit(scope.level);
        } catch (err) {
          await tx.rollback();
          const retryable = isRetryable(err);
          if (retryable && policy && attempt < policy.attempts) {
            await sleep(backoffMs(policy, attempt));
            continue;
          }
          await runHooks(scope.level.afterRollback, this.logger, 'afterRollback', err);
          if (retryable) throw new SerializationError(attempt, { cause: err });
          throw err;
        }
        if (scope.level.afterCommit.length > 0) await runHooks(scope.level.afterCommit, this.logger, 'afterCommit');
        return result;
      }
    } finally {
      if (--this.active === 0) this.drained?.();
    }
  }

  private async nested<T>(outer: Scope, fn: (tx: SqlClient) => Promise<T> | T, request: RequestState, asRoot: boolean): Promise<T> {
    const parent = outer.level;
    const previous = parent.childLock;
    let unlock!: () => void;
    parent.childLock = new Promise<void>((resolve) => (unlock = resolve));
    // Bounded: a scope that waits for a sibling which waits for it fails instead of hanging the request.
    if (!(await settlesWithin(previous, this.acquireTimeoutMs))) {
      unlock();
      throw new TransactionPropagationError(`a nested scope waited ${this.acquireTimeoutMs} ms for a sibling savepoint to end; run them one after another`);
    }
    try {
      const { tx } = outer;
      const level = new Level(parent);
      const name = await tx.savepoint(level);
      const scope: Scope = { tx, level, pinned: outer.pinned };
      let result: T;
      try {
        result = await this.als.run({ scope, request, pin: this.als.getStore()?.pin }, async () => fn(this.bound(scope)));
        if (scope.level.rollbackOnly) throw new TransactionAbortedError('savepoint was marked rollback-only: an error escaped a joined scope', { cause: scope.level.rollbackCause });
        // Inside the try: a release that turns into a rollback (a swallowed error, an open BEGIN) runs the hooks below.
        await tx.releaseSavepoint(name);
      } catch (err) {
        if (tx.isOpen(name)) await tx.rollbackToSavepoint(name).catch((e) => parent.markRollbackOnly(e));
        await runHooks(scope.level.afterRollback, this.logger, 'afterRollback', err);
        throw err;
      }
      if (asRoot) await runHooks(scope.level.afterCommit, this.logger, 'afterCommit');
      else parent.absorb(scope.level);
      return result;
    } finally {
      unlock();
    }
  }

  private pickDriver(options: TransactionOptions, request: RequestState): Driver {
    if (options.readOnly && this.replicas.length > 0 && !request.usedPrimary) {
      return this.replicas[this.nextReplica++ % this.replicas.length];
    }
    return this.primary;
  }

  /** Runs `fn` with a fresh request state (replica stickiness) unless one is running. @internal */
  runInRequest<T>(fn: () => T): T {
    if (this.als.getStore()) return fn();
    return this.als.run({ scope: undefined, request: { usedPrimary: false } }, fn);
  }

  /** @internal see `withRollback` */
  async pin(fn: () => Promise<void> | void): Promise<void> {
    if (this.pinned) throw new TransactionPropagationError('withRollback is already running on this Database');
    const tx = new Transaction(this.primary, {}, this.acquireTimeoutMs);
    const scope: Scope = { tx, level: new Level(), pinned: true };
    this.pinned = scope;
    let ours = true;
    try {
      // `pin` travels with fn's own async work: a statement it leaves behind fails once the pin ended.
      await this.als.run({ scope: undefined, pin: scope, request: { usedPrimary: true } }, async () => fn());
      await scope.level.childLock;
    } finally {
      this.pinned = undefined;
      ours = await tx.rollbackChecked();
    }
    if (!ours) throw new TransactionAbortedError('a raw COMMIT inside withRollback committed what ran before it; the rollback could not undo that');
  }

  /** `SELECT 1` latency and pool figures of the primary and every replica. Never throws. */
  async health(): Promise<Health> {
    const [primary, ...replicas] = await Promise.all([this.primary, ...this.replicas].map((d) => checkDriver(d, this.acquireTimeoutMs)));
    return { ok: primary.ok && replicas.every((r) => r.ok), primary, replicas, activeTransactions: this.active };
  }

  /**
   * Stops accepting new transactions, lets running ones finish, then closes every connection; all within
   * `timeoutMs` (default 10 000). Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.closing ??= (async () => {
      const deadline = Date.now() + timeoutMs;
      if (this.active > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
          setTimeout(resolve, timeoutMs).unref();
        });
      }
      // pg's pool.end() waits for every checked-out client: a client someone never released must not hang close().
      const ended = Promise.all([this.primary, ...this.replicas].map((d) => d.close()));
      if (await settlesWithin(ended, deadline - Date.now())) await ended;
      else this.logger.warn('webtool/db: close() timed out; connections still checked out were left to end');
    })();
    return this.closing;
  }
}

/**
 * Runs `fn` with `statement_timeout` set (SET LOCAL) to `timeoutMs` in the scope's transaction, then puts the
 * previous value back. Scopes joined concurrently (Promise.all) share the connection, so they share the setting.
 */
async function withTimeout<T>(scope: Scope, timeoutMs: number | undefined, fn: () => Promise<T> | T): Promise<T> {
  if (!timeoutMs) return fn();
  const { tx } = scope;
  const previous = (await tx.query<{ v: string }>(`SELECT current_setting('statement_timeout') AS v`, undefined, scope.level)).rows[0].v;
  await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.floor(timeoutMs))], scope.level);
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    // After a failed statement the transaction (or savepoint) is aborted: the rollback restores the setting.
    if (ok) await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [previous], scope.level);
  }
}

function isRetryable(err: unknown): boolean {
  const state = sqlState(err) ?? (err instanceof TransactionAbortedError ? sqlState(err.cause) : undefined);
  return state !== undefined && RETRYABLE_SQLSTATES.includes(state);
}
