/**
 * @module One physical transaction on one leased connection: lazy BEGIN, savepoints, rollback-only
 * marks per level, and a checked COMMIT that never reports a rollback as a success.
 */
import { randomBytes } from 'node:crypto';
import { DbUnavailableError, TransactionAbortedError, TransactionControlError, TransactionPropagationError } from '../errors';
import type { Driver, Lease, QueryInput, QueryResult } from './driver';
import { beginStatement, type TransactionOptions } from './options';
import { isConnectionError, sanitizeError, sqlState } from './sanitize';
import { settlesWithin } from './settles-within';

/** The transaction-local setting that proves, at COMMIT, that our transaction is still the one in progress. */
const MARKER = 'webtool.tx';
const ENDED_EARLY = 'webtool: transaction ended early';
/**
 * Fails when the marker is not this transaction's: set_config then gets a name PostgreSQL refuses, and its
 * error names why. Sent in COMMIT's round trip, so a missing marker stops the COMMIT server-side. The value
 * is a nonce per transaction, so a session-level `webtool.tx` (set by a request before, or by ALTER DATABASE)
 * cannot pass for it. `SELECT FROM` returns no column (and `SET LOCAL` at BEGIN no row): less for pg to parse.
 */
function probe(nonce: string): string {
  return `SELECT FROM set_config(CASE WHEN current_setting('${MARKER}', true) = '${nonce}' THEN '${MARKER}' ELSE '${ENDED_EARLY}' END, '1', true)`;
}

const NONCE_PREFIX = randomBytes(6).toString('hex');
let nonces = 0;

/** Runs statements in one round trip when the lease can (`batch`), else one by one; the last command tag, if known. */
async function runBatch(lease: Lease, statements: string[]): Promise<string | undefined> {
  if (lease.batch) return lease.batch(statements);
  let result: QueryResult | undefined;
  for (const statement of statements) result = await lease.query(statement);
  return result?.command;
}

/** A statement whose first keyword ends or starts a transaction (ROLLBACK TO SAVEPOINT excepted). */
const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|abort|prepare\s+transaction|rollback(?!\s+(work\s+|transaction\s+)?to\b))\b/i;

interface OpenSavepoint {
  readonly level: Level;
  readonly name: string;
  /** Resolves when the savepoint is released or rolled back. */
  readonly done: Promise<void>;
  readonly close: () => void;
}

/** A hook run after the transaction commits (or rolls back). */
export type Hook = (error?: unknown) => unknown;

/**
 * One level of a transaction: the whole of it, or one savepoint. Holds the hooks registered at this
 * level and whether an error escaped a scope joined to it.
 */
export class Level {
  /** Set once this savepoint is released or rolled back: a scope that outlived it can no longer run statements. */
  closed = false;
  readonly afterCommit: Hook[] = [];
  readonly afterRollback: Hook[] = [];
  rollbackOnly = false;
  rollbackCause: unknown;
  /** Serialises savepoints opened directly under this level (e.g. by `Promise.all`): savepoints nest, they do not interleave. */
  childLock: Promise<void> = Promise.resolve();

  /** `parent`: the level this savepoint is opened in; none for the whole transaction. */
  constructor(readonly parent?: Level) {}

  /** Whether this savepoint, or one it lies in, has ended (or is ending). */
  get dead(): boolean {
    for (let level: Level | undefined = this; level; level = level.parent) if (level.closed) return true;
    return false;
  }

  /** Whether this level is `ancestor` or lies inside it. */
  within(ancestor: Level): boolean {
    for (let level: Level | undefined = this; level; level = level.parent) if (level === ancestor) return true;
    return false;
  }

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

/**
 * Statements under way in a request's transactions, and since when none is: how `transactional()` tells a
 * handler still at work after its client hung up.
 */
export class Activity {
  private underWay = 0;
  private idleSinceMs = Date.now();

  start(): void {
    this.underWay++;
  }

  end(): void {
    if (--this.underWay === 0) this.idleSinceMs = Date.now();
  }

  /** Whether a statement is under way (waiting for a connection or a savepoint included). */
  get busy(): boolean {
    return this.underWay > 0;
  }

  /** How long no statement has been under way (0 while one is). */
  idleForMs(): number {
    return this.underWay > 0 ? 0 : Date.now() - this.idleSinceMs;
  }
}

/** A physical transaction. BEGIN runs at the first statement, so a request that never queries holds no connection. */
export class Transaction {
  private lease?: Lease;
  private begun?: Promise<Lease>;
  private finished = false;
  private sealed?: string;
  private savepoints = 0;
  /** Marker value of this transaction (see `probe`). */
  private readonly nonce = `${NONCE_PREFIX}${(++nonces).toString(36)}`;
  /**
   * Savepoints open now, outermost first. A statement from a scope outside the innermost one waits until it
   * closes: otherwise a sibling's statement (Promise.all) would run inside it and vanish with its rollback.
   */
  private readonly open: OpenSavepoint[] = [];
  /** Savepoint rollbacks started by `release()` of a client; COMMIT waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  /** The last statement error: the cause reported when COMMIT turns out to be a rollback. */
  lastError: unknown;

  constructor(
    readonly driver: Driver,
    readonly options: TransactionOptions,
    private readonly acquireTimeoutMs: number,
    /** Called when BEGIN is first needed (the request then counts as having used this driver). */
    private readonly onBegin?: () => void,
    /** Statements under way, shared by the request's transactions (a `requires_new` one included). */
    readonly activity: Activity = new Activity(),
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
        const statements = [beginStatement(this.options), `SET LOCAL ${MARKER} = '${this.nonce}'`];
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

  /**
   * Runs a statement in this transaction, beginning it if needed. `level` is the scope's: while a savepoint
   * it is not inside is open, the statement waits for that savepoint to close.
   */
  async query<R = any>(query: QueryInput, values?: unknown[], level?: Level): Promise<QueryResult<R>> {
    this.assertLive(level);
    this.activity.start();
    try {
      return await this.run<R>(query, values, level);
    } finally {
      this.activity.end();
    }
  }

  private async run<R>(query: QueryInput, values: unknown[] | undefined, level: Level | undefined): Promise<QueryResult<R>> {
    if (TRANSACTION_CONTROL.test(typeof query === 'string' ? query : query.text)) {
      throw new TransactionControlError('transaction control (BEGIN/COMMIT/ROLLBACK/END) inside a webtool transaction; use db.transaction() scopes or savepoints');
    }
    const lease = await this.begin();
    if (level && this.open.length > 0) await this.turn(level);
    // Checked again with no await before the send: a ROLLBACK (TO SAVEPOINT) under way has already closed the door.
    this.assertLive(level);
    return this.send(lease, query, values);
  }

  /** Throws unless a statement of `level` may still be sent. */
  private assertLive(level?: Level): void {
    if (this.finished) throw new TransactionAbortedError('transaction already ended; a scope outlived its transaction');
    if (this.sealed) throw new TransactionAbortedError(this.sealed);
    if (level?.dead) throw new TransactionAbortedError('the savepoint of this scope has already ended; a scope outlived its savepoint');
  }

  /** Refuses every later statement (the transaction is about to commit): they fail at once, never racing COMMIT. */
  seal(reason: string): void {
    this.sealed ??= reason;
  }

  private async send<R>(lease: Lease, query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    // Savepoint statements (a db.pool client's BEGIN, a nested scope) come here without query(): they count too.
    this.activity.start();
    try {
      return await lease.query<R>(query, values);
    } catch (err) {
      this.lastError = sanitizeError(err);
      throw err;
    } finally {
      this.activity.end();
    }
  }

  /**
   * Resolves when a statement of `level` may be sent: when it lies inside the innermost open savepoint (a
   * `nested` scope's, or a db.pool client's BEGIN). Waits are bounded by `acquireTimeoutMs`, so a scope that
   * waits for itself fails instead of hanging.
   */
  private async turn(level: Level): Promise<void> {
    for (;;) {
      this.assertLive(level);
      const innermost = this.open[this.open.length - 1];
      if (!innermost || level.within(innermost.level)) return;
      if (!(await settlesWithin(innermost.done, this.acquireTimeoutMs))) {
        throw new TransactionPropagationError(
          `a statement waited ${this.acquireTimeoutMs} ms for a savepoint it is not part of (a concurrent scope or db.pool transaction) to end; run them one after another, and inside a query builder's transaction use its own handle`,
        );
      }
    }
  }

  /**
   * Opens a savepoint for `child` (a level whose parent is the scope opening it) and returns its name.
   * Statements from outside `child` wait until it is released or rolled back.
   */
  async savepoint(child: Level): Promise<string> {
    const name = `wt_sp_${++this.savepoints}`;
    this.assertLive(child.parent);
    const lease = await this.begin();
    if (child.parent && this.open.length > 0) await this.turn(child.parent);
    this.assertLive(child.parent);
    let close!: () => void;
    const done = new Promise<void>((resolve) => (close = resolve));
    // Registered before SAVEPOINT is sent, in the same tick: no sibling statement can slip in between.
    this.open.push({ level: child, name, done, close });
    try {
      await this.send(lease, `SAVEPOINT ${name}`);
    } catch (err) {
      this.closeSavepoint(name);
      throw err;
    }
    return name;
  }

  /** Marks the savepoint and those inside it as ending: their scopes' statements fail from now on. */
  private closing(name: string): void {
    const index = this.open.findIndex((s) => s.name === name);
    if (index >= 0) for (const entry of this.open.slice(index)) entry.level.closed = true;
  }

  /** Removes the savepoint (and those inside it: RELEASE and ROLLBACK TO end them too) and wakes who waited. */
  private closeSavepoint(name: string): void {
    const index = this.open.findIndex((s) => s.name === name);
    if (index < 0) return;
    for (const entry of this.open.splice(index)) {
      entry.level.closed = true;
      entry.close();
    }
  }

  /** The savepoint's own statement: sent at once (its scope is the innermost open one). */
  private async savepointStatement(sql: string): Promise<void> {
    this.assertLive();
    await this.send(await this.begin(), sql);
  }

  /**
   * Releases a savepoint. When a statement failed inside it and was swallowed, RELEASE fails (25P02):
   * the savepoint is rolled back instead and `TransactionAbortedError` thrown. So it is when a db.pool
   * client's BEGIN inside it is still open: RELEASE would commit what that client never committed.
   */
  async releaseSavepoint(name: string): Promise<void> {
    const index = this.open.findIndex((s) => s.name === name);
    if (index >= 0 && index < this.open.length - 1) {
      await this.rollbackToSavepoint(name);
      throw new TransactionAbortedError('a db.pool client BEGIN inside this scope was still open when the scope ended; the scope rolled back');
    }
    this.closing(name);
    try {
      await this.savepointStatement(`RELEASE SAVEPOINT ${name}`);
    } catch (err) {
      if (sqlState(err) !== '25P02') {
        this.closeSavepoint(name);
        throw err;
      }
      const cause = this.lastError === err ? undefined : this.lastError;
      await this.rollbackToSavepoint(name);
      throw new TransactionAbortedError('a statement failed inside the savepoint; it was rolled back', { cause });
    }
    this.closeSavepoint(name);
  }

  /** Rolls back to a savepoint and releases it; on failure the whole transaction is unusable. */
  async rollbackToSavepoint(name: string): Promise<void> {
    this.closing(name);
    await this.savepointStatement(`ROLLBACK TO SAVEPOINT ${name}`);
    // Rolled back: what remains is only the (empty) savepoint itself. A failure above keeps it registered as
    // open, so COMMIT refuses rather than commit what could not be undone.
    this.closeSavepoint(name);
    await this.savepointStatement(`RELEASE SAVEPOINT ${name}`);
  }

  /** Whether the savepoint `name` is still open. */
  isOpen(name: string): boolean {
    return this.open.some((s) => s.name === name);
  }

  /** Keeps COMMIT waiting for `work` (a savepoint rollback a client's `release()` started). */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /**
   * Commits. Throws `TransactionAbortedError` (after rolling back) when `level` is rollback-only, when a
   * db.pool client's BEGIN is still open, or when PostgreSQL would not commit: the probe sent with COMMIT
   * fails (25P02 for an aborted transaction; the marker error when it is no longer ours).
   */
  async commit(level: Level): Promise<void> {
    // Rollbacks a client's release() started decide first: one that failed marks the level rollback-only.
    if (this.pending.size > 0) await Promise.all(this.pending);
    if (level.rollbackOnly) {
      await this.rollback();
      throw new TransactionAbortedError('transaction was marked rollback-only: an error escaped a joined scope', { cause: level.rollbackCause });
    }
    if (this.open.length > 0) {
      await this.rollback();
      throw new TransactionAbortedError('a transaction begun on a db.pool client (BEGIN) was still open at COMMIT; everything rolled back');
    }
    if (!this.begun) return this.end(false);
    const lease = await this.begin();
    let tag: string | undefined;
    try {
      // One round trip: the probe fails, and the server then skips COMMIT, when a swallowed error left the
      // transaction aborted (25P02) or a raw COMMIT/ROLLBACK already ended it (the marker is gone).
      tag = await runBatch(lease, [probe(this.nonce), 'COMMIT']);
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
        throw new TransactionAbortedError('a raw COMMIT or ROLLBACK (or RESET ALL) ended the transaction early or cleared its marker; statements after a COMMIT ran outside it');
      }
      // e.g. a deferred constraint (23505) or a serialization failure (40001) detected at COMMIT
      throw new TransactionAbortedError('COMMIT failed; the transaction rolled back', { cause: sanitizeError(err) });
    }
    this.end(false);
    if (this.driver.reportsCommandTag && tag !== undefined && tag !== 'COMMIT') {
      throw new TransactionAbortedError('a statement failed and was swallowed; COMMIT rolled back', { cause: this.lastError });
    }
  }

  /**
   * Rolls back, first checking that the transaction is still this one (its marker): false when a raw COMMIT
   * ended it earlier, so what ran before that COMMIT is committed. For `withRollback`.
   */
  async rollbackChecked(): Promise<boolean> {
    if (this.pending.size > 0) await Promise.all(this.pending);
    let ours = true;
    if (this.begun && !this.finished) {
      try {
        const lease = await this.begun;
        const check = await lease.query<{ ours: boolean }>(`SELECT current_setting('${MARKER}', true) IS NOT DISTINCT FROM '${this.nonce}' AS ours`);
        ours = check.rows[0]?.ours === true;
      } catch {
        // 25P02: a failed statement left it aborted, but it is still ours; a lost connection rolled it back.
        ours = true;
      }
    }
    await this.rollback();
    return ours;
  }

  /** Rolls back if begun; a connection that cannot roll back is destroyed, never reused. Idempotent. */
  async rollback(): Promise<void> {
    if (this.finished) return;
    // From now on no statement joins: one sent during the ROLLBACK round trip would run after it, in autocommit.
    this.seal('the transaction is rolling back; a statement cannot join it');
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
    // Statements waiting for a savepoint wake up and fail: the transaction is over.
    for (const entry of this.open.splice(0)) {
      entry.level.closed = true;
      entry.close();
    }
    this.lease?.release(destroy);
    this.lease = undefined;
  }
}
