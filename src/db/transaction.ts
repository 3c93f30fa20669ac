/**
 * @module One physical transaction on one leased connection: lazy BEGIN, savepoints, rollback-only
 * marks per level, and a checked COMMIT that never reports a rollback as a success.
 */
import { DbUnavailableError, TransactionAbortedError, TransactionControlError } from '../errors';
import type { Driver, Lease, QueryInput, QueryResult } from './driver';
import { beginStatement, type TransactionOptions } from './options';
import { isConnectionError, sanitizeError, sqlState } from './sanitize';

/** The transaction-local setting that proves, at COMMIT, that our transaction is still the one in progress. */
const MARKER = 'webtool.tx';
const ENDED_EARLY = 'webtool: transaction ended early';
/**
 * Fails when the marker is gone: set_config then gets a name PostgreSQL refuses, and its error names why.
 * Sent in COMMIT's round trip, so a missing marker stops the COMMIT server-side. `SELECT FROM` returns no
 * column (and `SET LOCAL` at BEGIN no row), so the client has less to parse than with a plain `SELECT set_config`.
 */
const PROBE = `SELECT FROM set_config(CASE WHEN current_setting('${MARKER}', true) = '1' THEN '${MARKER}' ELSE '${ENDED_EARLY}' END, '1', true)`;

/** Runs statements in one round trip when the lease can (`batch`), else one by one; the last command tag, if known. */
async function runBatch(lease: Lease, statements: string[]): Promise<string | undefined> {
  if (lease.batch) return lease.batch(statements);
  let result: QueryResult | undefined;
  for (const statement of statements) result = await lease.query(statement);
  return result?.command;
}

/** A statement whose first keyword ends or starts a transaction (ROLLBACK TO SAVEPOINT excepted). */
const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|abort|prepare\s+transaction|rollback(?!\s+(work\s+|transaction\s+)?to\b))\b/i;

/** A hook run after the transaction commits (or rolls back). */
export type Hook = (error?: unknown) => unknown;

/**
 * One level of a transaction: the whole of it, or one savepoint. Holds the hooks registered at this
 * level and whether an error escaped a scope joined to it.
 */
export class Level {
  readonly afterCommit: Hook[] = [];
  readonly afterRollback: Hook[] = [];
  rollbackOnly = false;
  rollbackCause: unknown;
  /** Serialises savepoints opened directly under this level (e.g. by `Promise.all`): savepoints nest, they do not interleave. */
  childLock: Promise<void> = Promise.resolve();

  markRollbackOnly(cause: unknown): void {
    if (!this.rollbackOnly) this.rollbackCause = cause;
    this.rollbackOnly = true;
  }

  /** Hands the hooks of a released savepoint to the level around it. */
  absorb(child: Level): void {
    this.afterCommit.push(...child.afterCommit);
    this.afterRollback.push(...child.afterRollback);
  }
}

/** A physical transaction. BEGIN runs at the first statement, so a request that never queries holds no connection. */
export class Transaction {
  private lease?: Lease;
  private begun?: Promise<Lease>;
  private finished = false;
  private sealed?: string;
  private savepoints = 0;
  /** The last statement error: the cause reported when COMMIT turns out to be a rollback. */
  lastError: unknown;

  constructor(
    readonly driver: Driver,
    readonly options: TransactionOptions,
    private readonly acquireTimeoutMs: number,
    /** Called when BEGIN is first needed (the request then counts as having used this driver). */
    private readonly onBegin?: () => void,
  ) {}

  /** Whether a connection was taken (BEGIN sent or under way). */
  get started(): boolean {
    return this.begun !== undefined;
  }

  private begin(): Promise<Lease> {
    this.begun ??= (async () => {
      this.onBegin?.();
      const lease = await this.driver.acquire(this.acquireTimeoutMs);
      try {
        // A transaction-local marker, set in BEGIN's own round trip: gone if a raw COMMIT/ROLLBACK ended the transaction behind our back.
        const statements = [beginStatement(this.options), `SET LOCAL ${MARKER} = '1'`];
        if (this.options.timeoutMs) statements.push(`SET LOCAL statement_timeout = ${Math.floor(this.options.timeoutMs)}`);
        await runBatch(lease, statements);
      } catch (err) {
        lease.release(true);
        throw isConnectionError(err) ? new DbUnavailableError('cannot begin a transaction', { cause: sanitizeError(err) }) : err;
      }
      this.lease = lease;
      return lease;
    })();
    return this.begun;
  }

  /** Runs a statement in this transaction, beginning it if needed. */
  async query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.finished) throw new TransactionAbortedError('transaction already ended; a scope outlived its transaction');
    if (this.sealed) throw new TransactionAbortedError(this.sealed);
    if (TRANSACTION_CONTROL.test(typeof query === 'string' ? query : query.text)) {
      throw new TransactionControlError('transaction control (BEGIN/COMMIT/ROLLBACK/END) inside a webtool transaction; use db.transaction() scopes or savepoints');
    }
    const lease = await this.begin();
    try {
      return await lease.query<R>(query, values);
    } catch (err) {
      this.lastError = sanitizeError(err);
      throw err;
    }
  }

  /** Refuses every later statement (the transaction is about to commit): they fail at once, never racing COMMIT. */
  seal(reason: string): void {
    this.sealed ??= reason;
  }

  /** Opens a savepoint; returns its name. */
  async savepoint(): Promise<string> {
    const name = `wt_sp_${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`);
    return name;
  }

  /**
   * Releases a savepoint. When a statement failed inside it and was swallowed, RELEASE fails (25P02):
   * the savepoint is rolled back instead and `TransactionAbortedError` thrown.
   */
  async releaseSavepoint(name: string): Promise<void> {
    try {
      await this.query(`RELEASE SAVEPOINT ${name}`);
    } catch (err) {
      if (sqlState(err) !== '25P02') throw err;
      const cause = this.lastError === err ? undefined : this.lastError;
      await this.rollbackToSavepoint(name);
      throw new TransactionAbortedError('a statement failed inside the savepoint; it was rolled back', { cause });
    }
  }

  /** Rolls back to a savepoint and releases it; on failure the whole transaction is unusable. */
  async rollbackToSavepoint(name: string): Promise<void> {
    await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await this.query(`RELEASE SAVEPOINT ${name}`);
  }

  /**
   * Commits. Throws `TransactionAbortedError` (after rolling back) when `level` is rollback-only or when
   * PostgreSQL did not commit: the COMMIT tag says `ROLLBACK` (pg), or a probe fails with 25P02 (PGlite).
   */
  async commit(level: Level): Promise<void> {
    if (level.rollbackOnly) {
      await this.rollback();
      throw new TransactionAbortedError('transaction was marked rollback-only: an error escaped a joined scope', { cause: level.rollbackCause });
    }
    if (!this.begun) return this.end(false);
    const lease = await this.begin();
    let tag: string | undefined;
    try {
      // One round trip: the probe fails, and the server then skips COMMIT, when a swallowed error left the
      // transaction aborted (25P02) or a raw COMMIT/ROLLBACK already ended it (the marker is gone).
      tag = await runBatch(lease, [PROBE, 'COMMIT']);
    } catch (err) {
      // The outcome of a COMMIT whose connection died is unknown; such a connection is not reused.
      if (isConnectionError(err)) {
        this.end(true);
        throw new DbUnavailableError('COMMIT failed: connection lost', { cause: sanitizeError(err) });
      }
      // Ends the aborted transaction; after a failed COMMIT there is none left and ROLLBACK only warns.
      await this.rollback();
      if (sqlState(err) === '25P02') {
        throw new TransactionAbortedError('a statement failed and was swallowed; the transaction rolled back', { cause: this.lastError ?? sanitizeError(err) });
      }
      if (String((err as Error)?.message).includes(ENDED_EARLY)) {
        throw new TransactionAbortedError('a raw COMMIT or ROLLBACK ended the transaction early; statements after it ran outside it');
      }
      // e.g. a deferred constraint (23505) or a serialization failure (40001) detected at COMMIT
      throw new TransactionAbortedError('COMMIT failed; the transaction rolled back', { cause: sanitizeError(err) });
    }
    this.end(false);
    if (this.driver.reportsCommandTag && tag !== undefined && tag !== 'COMMIT') {
      throw new TransactionAbortedError('a statement failed and was swallowed; COMMIT rolled back', { cause: this.lastError });
    }
  }

  /** Rolls back if begun; a connection that cannot roll back is destroyed, never reused. Idempotent. */
  async rollback(): Promise<void> {
    if (this.finished) return;
    if (!this.begun) return this.end(false);
    let lease: Lease;
    try {
      lease = await this.begun;
    } catch {
      this.finished = true;
      return;
    }
    if (this.finished) return;
    try {
      await lease.query('ROLLBACK');
      this.end(false);
    } catch {
      this.end(true);
    }
  }

  private end(destroy: boolean): void {
    this.finished = true;
    this.lease?.release(destroy);
    this.lease = undefined;
  }
}
