/**
 * @module `transactional()` for plain Express: one transaction per request, begun at the first statement and
 * committed after the handler called `res.end()`. Everything it writes is held (up to `maxBufferBytes`)
 * until COMMIT returns; a COMMIT that fails, or an error after the response began, answers problem+json.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DbUnavailableError, InvalidOptionError, ResponseFailedError, ResponseTooLargeError, WebtoolError } from '../errors';
import type { Database } from './database';
import type { TransactionOptions } from './options';
import { DEFAULT_MAX_BUFFER_BYTES, holdResponse } from './hold-response';
import { isConnectionError, sqlState } from './sanitize';

/** Options of {@link transactional}. */
export interface TransactionalMiddlewareOptions extends Omit<TransactionOptions, 'retry' | 'propagation'> {
  /** Whether a response with this status commits; otherwise the transaction rolls back. @default status < 400 */
  commitOn?: (status: number) => boolean;
  /**
   * Bound on what the handler may write before `res.end()`: everything is held until COMMIT, so a
   * streaming handler (SSE) is buffered whole. Beyond it the transaction rolls back and the request
   * answers 500 `ERR_WT_DB_RESPONSE_TOO_LARGE`. @default 1 MiB
   */
  maxBufferBytes?: number;
  /**
   * When the client hangs up before the answer, the handler may finish in the transaction (its statements
   * still run in it; it then rolls back) as long as it keeps using it: once no statement has been under
   * way for this long, it is rolled back and later statements fail. A statement under way (waiting for a
   * connection included) is always waited for, with 0 too. Refusing them at once would reject the
   * handler's awaits: under Express 4 an unhandled rejection, which any client could cause by hanging up.
   * @default 1000
   */
  abortGraceMs?: number;
}

/** The default of {@link TransactionalMiddlewareOptions.abortGraceMs}. */
export const DEFAULT_ABORT_GRACE_MS = 1000;

class RollbackSignal extends Error {}

/** The problem+json answer for an error that stopped the commit; never a lower error's text. */
export function problemFor(err: unknown): WebtoolError {
  if (err instanceof WebtoolError) return err;
  if (isConnectionError(err)) return new DbUnavailableError('database connection lost', { cause: err });
  // 57014: statement_timeout (timeoutMs) or a cancel: the database is overloaded or the work too slow: 503.
  if (sqlState(err) === '57014') return new DbUnavailableError('statement timed out', { cause: err });
  return new DbUnavailableError('transaction failed', { cause: err });
}

/**
 * One transaction per request. Everything the handler writes (writeHead/write/flushHeaders/end) is held until it calls
 * `res.end()` and the
 * transaction commits (or rolls back, for a status `commitOn` refuses). Retry is off: the handler has
 * already answered, and cannot run again; use `@Transactional` (which re-runs the action) for retries.
 * @example app.use(transactional(db)); app.post('/users', async (req, res, next) => { try { await db.query('INSERT …'); res.status(201).end(); } catch (err) { next(err); } });
 */
export function transactional(db: Database, options: TransactionalMiddlewareOptions = {}): RequestHandler {
  const commitOn = options.commitOn ?? ((status: number) => status < 400);
  const { commitOn: _ignored, maxBufferBytes: _max, abortGraceMs: _grace, ...txOptions } = options;
  const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!Number.isInteger(maxBufferBytes) || maxBufferBytes < 0) throw new InvalidOptionError('maxBufferBytes', 'must be an integer ≥ 0');
  const abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  if (!Number.isInteger(abortGraceMs) || abortGraceMs < 0) throw new InvalidOptionError('abortGraceMs', 'must be an integer ≥ 0 (milliseconds)');
  return function transactional(req: Request, res: Response, next: NextFunction) {
    let seal: (() => void) | undefined;
    let ended = false;
    let onEnded: (() => void) | undefined;
    const owner = db.currentScope() === undefined;
    const held = holdResponse(res, maxBufferBytes, () => {
      seal?.();
      ended = true;
      onEnded?.();
    });
    db.runInRequest(() =>
      db.transaction(
        async () => {
          // Only a transaction this request owns is sealed (not withRollback's pinned one, nor an enclosing one).
          const scopeTx = db.currentScope()?.tx;
          const tx = owner ? scopeTx : undefined;
          seal = () => tx?.seal('a statement after res.end() cannot join the request transaction: it is committing');
          next();
          const how = await held.settled;
          // The client hung up: the handler may finish in this transaction (which rolls back below) while it
          // keeps using it; once it has sent no statement for abortGraceMs, it is not waited for.
          if (how === 'aborted' && !ended) await untilEndedOrIdle(scopeTx?.activity, abortGraceMs, (resolve) => (onEnded = resolve));
          seal();
          // A second transactional() or @Transactional on this response finishes first (its own COMMIT included).
          await held.joined();
          // A statement that hit timeoutMs (57014) and made the handler fail: 503, not the handler's 500.
          if (res.statusCode >= 500 && sqlState(scopeTx?.lastError) === '57014') throw scopeTx!.lastError;
          if (how === 'overflow') throw new ResponseTooLargeError(`the response exceeded maxBufferBytes (${maxBufferBytes}) before res.end(); the transaction rolled back`);
          if (held.rewritten) throw new ResponseFailedError('the handler failed after it began its response; the transaction rolled back');
          // The connection is already gone: nobody will see the answer, so nothing commits.
          if (how === 'aborted' || res.destroyed || req.socket?.destroyed || !commitOn(res.statusCode)) throw new RollbackSignal();
        },
        { ...txOptions, retry: false },
      ),
    ).then(
      () => held.flush(),
      (err) => {
        if (err instanceof RollbackSignal) return held.flush();
        held.fail(problemFor(err));
      },
    );
  };
}

/** How often a hung-up request with a statement under way is looked at again (when the grace is shorter). */
const BUSY_RECHECK_MS = 10;

/**
 * Resolves when `listen`'s callback is called, or once the request has had no statement under way for `idleMs`
 * and `idleMs` have passed since the hang-up (now). Its timers never keep the process alive.
 */
function untilEndedOrIdle(activity: { idleForMs(): number; readonly busy: boolean } | undefined, idleMs: number, listen: (ended: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout;
    const startedMs = Date.now();
    const check = () => {
      // Counted from the hang-up at the earliest: a handler gets the whole grace after it.
      const sinceHangUp = Date.now() - startedMs;
      const idleFor = activity ? Math.min(activity.idleForMs(), sinceHangUp) : sinceHangUp;
      // A statement under way is always waited for, whatever the grace (0 included).
      if (!activity?.busy && idleFor >= idleMs) resolve();
      else (timer = setTimeout(check, Math.max(idleMs - idleFor, BUSY_RECHECK_MS))).unref();
    };
    listen(() => {
      clearTimeout(timer);
      resolve();
    });
    check();
  });
}
