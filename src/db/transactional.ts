/**
 * @module `@Transactional(db, options)`: runs a service method or a routing-controllers action in a transaction.
 * routing-controllers writes the response after the action's promise settles, so the COMMIT comes first;
 * a failed COMMIT reaches its error handler as a `WebtoolError` with status 409/503. An action that answers
 * through `@Res()` has its output held until COMMIT; a failed COMMIT then answers problem+json itself.
 */
import { ServerResponse } from 'node:http';
import { ResponseFailedError, ResponseTooLargeError, WebtoolError } from '../errors';
import type { Database } from './database';
import { problemFor } from './express';
import { clientGone, DEFAULT_MAX_BUFFER_BYTES, holdResponse } from './hold-response';
import type { TransactionOptions } from './options';

/** The Database, or a function returning it (for a Database built after the class is declared). */
export type DatabaseRef = Database | (() => Database);

/**
 * Method decorator: the method runs through `db.transaction(…, options)`; with the default propagation it
 * joins a running transaction, otherwise it is the outermost scope and is retried on 40001/40P01.
 * @example
 * class Accounts { @Transactional(() => db) async transfer(a: number, b: number) { … } }
 */
/** reflect-metadata's API when loaded (an optional peer), typed here: the build has no global types for it. */
const metadata = Reflect as unknown as {
  getMetadataKeys?(target: object): unknown[];
  defineMetadata(key: unknown, value: unknown, target: object): void;
  getMetadata(key: unknown, target: object): unknown;
};

/** Rolls back the transaction of an action whose client has hung up (never leaves `answerAfterCommit`). */
class ClientGone extends Error {}

/**
 * An action that answers through `@Res()` itself: what it writes is held until COMMIT (the same mechanism as
 * `transactional()`), and a failed COMMIT answers problem+json (409 for a rollback) instead.
 */
async function answerAfterCommit(database: Database, res: ServerResponse, action: () => unknown, options: TransactionOptions): Promise<unknown> {
  const held = holdResponse(res, DEFAULT_MAX_BUFFER_BYTES);
  let attempts = 0;
  try {
    const result = await database.runInRequest(() =>
      database.transaction(async () => {
        // No retry for a client that hung up: nobody is waiting for the answer a new attempt would give.
        if (++attempts > 1 && clientGone(res)) throw new ClientGone();
        held.reset(); // a retried run answers again
        const value = await action();
        if (held.overflowed) throw new ResponseTooLargeError(`the response exceeded ${DEFAULT_MAX_BUFFER_BYTES} bytes before COMMIT; the transaction rolled back`);
        // The client hung up before its answer: nobody will see it, so nothing commits (as with transactional()).
        if (clientGone(res)) throw new ClientGone();
        return value;
      }, options),
    );
    held.flush();
    return result;
  } catch (err) {
    if (err instanceof ClientGone) {
      held.flush();
      return res;
    }
    if (!held.started) {
      held.flush();
      throw err;
    }
    held.fail(err instanceof WebtoolError ? problemFor(err) : new ResponseFailedError('the action failed after it began its response; the transaction rolled back'));
    return res;
  }
}

export function Transactional(db: DatabaseRef, options: TransactionOptions = {}): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = function transactional(this: unknown, ...args: unknown[]) {
      const database = typeof db === 'function' ? db() : db;
      const res = args.find((a): a is ServerResponse => a instanceof ServerResponse);
      if (!res) return database.runInRequest(() => database.transaction(() => method.apply(this, args), options));
      return answerAfterCommit(database, res, () => method.apply(this, args), options);
    };
    // routing-controllers reads parameter metadata from the method: keep it on the wrapper.
    for (const key of metadata.getMetadataKeys?.(method) ?? []) metadata.defineMetadata(key, metadata.getMetadata(key, method), descriptor.value);
    return descriptor;
  };
}
