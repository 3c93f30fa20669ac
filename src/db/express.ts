/**
 * @module `transactional()` for plain Express: one transaction per request, begun at the first statement and
 * committed before the status line is written. The response is held until COMMIT returns; a COMMIT that
 * fails answers a problem+json 409/503 instead of the 2xx the handler meant to send.
 */
import { OutgoingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DbUnavailableError, WebtoolError } from '../errors';
import type { Database } from './database';
import type { TransactionOptions } from './options';
import { isConnectionError } from './sanitize';

/** Options of {@link transactional}. */
export interface TransactionalMiddlewareOptions extends Omit<TransactionOptions, 'retry' | 'propagation'> {
  /** Whether a response with this status commits; otherwise the transaction rolls back. @default status < 400 */
  commitOn?: (status: number) => boolean;
}

class RollbackSignal extends Error {}

const headersSent = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')!.get!;

type Held = () => void;

/** The problem+json answer for an error that stopped the commit; never a lower error's text. */
export function problemFor(err: unknown): WebtoolError {
  if (err instanceof WebtoolError) return err;
  if (isConnectionError(err)) return new DbUnavailableError('database connection lost', { cause: err });
  return new DbUnavailableError('transaction failed', { cause: err });
}

/**
 * One transaction per request. The handler's `res.end`/`res.write`/`res.writeHead` are held until the
 * transaction commits (or rolls back, for a status `commitOn` refuses). Retry is off: the handler has
 * already answered, and cannot run again; use `@Transactional` (which re-runs the action) for retries.
 * @example app.use(transactional(db)); app.post('/users', async (req, res) => { await db.query('INSERT …'); res.status(201).end(); });
 */
export function transactional(db: Database, options: TransactionalMiddlewareOptions = {}): RequestHandler {
  const commitOn = options.commitOn ?? ((status: number) => status < 400);
  const { commitOn: _ignored, ...txOptions } = options;
  return function transactional(req: Request, res: Response, next: NextFunction) {
    const originals = { writeHead: res.writeHead, write: res.write, end: res.end };
    const held: Held[] = [];
    let state: 'open' | 'holding' | 'done' = 'open';
    let answered!: (how: 'answered' | 'aborted') => void;
    const handlerDone = new Promise<'answered' | 'aborted'>((resolve) => (answered = resolve));

    const hold = (name: keyof typeof originals) =>
      function (this: Response, ...args: unknown[]) {
        if (state === 'done') return (originals[name] as Function).apply(res, args);
        held.push(() => (originals[name] as Function).apply(res, args));
        if (state === 'open') {
          state = 'holding';
          answered('answered');
        }
        return name === 'write' ? true : res;
      };
    res.writeHead = hold('writeHead') as Response['writeHead'];
    res.write = hold('write') as Response['write'];
    res.end = hold('end') as Response['end'];
    // While held, the response counts as sent: code after the handler (routing-controllers calls next()
    // after an action, the final 404 handler, error handlers) must not try to answer a second time.
    Object.defineProperty(res, 'headersSent', { configurable: true, get: () => state === 'holding' || headersSent.call(res) });
    res.once('close', () => {
      if (state === 'open') answered('aborted');
    });

    const restore = () => {
      state = 'done';
      Object.assign(res, originals);
      delete (res as { headersSent?: boolean }).headersSent;
    };

    db.runInRequest(() =>
      db.transaction(
        async () => {
          next();
          const how = await handlerDone;
          if (how === 'aborted' || !commitOn(res.statusCode)) throw new RollbackSignal();
        },
        { ...txOptions, retry: false },
      ),
    ).then(
      () => {
        restore();
        for (const h of held) h();
      },
      (err) => {
        restore();
        if (err instanceof RollbackSignal) {
          for (const h of held) h();
          return;
        }
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        const problem = problemFor(err);
        for (const header of res.getHeaderNames()) res.removeHeader(header);
        res.statusCode = problem.status;
        res.setHeader('content-type', 'application/problem+json');
        res.end(JSON.stringify(problem));
      },
    );
  };
}
