/**
 * @module `@Transactional(db, options)`: runs a service method or a routing-controllers action in a transaction.
 * routing-controllers writes the response after the action's promise settles, so the COMMIT comes first;
 * a failed COMMIT reaches its error handler as a `WebtoolError` with status 409/503.
 */
import type { Database } from './database';
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

export function Transactional(db: DatabaseRef, options: TransactionOptions = {}): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = function transactional(this: unknown, ...args: unknown[]) {
      const database = typeof db === 'function' ? db() : db;
      return database.runInRequest(() => database.transaction(() => method.apply(this, args), options));
    };
    // routing-controllers reads parameter metadata from the method: keep it on the wrapper.
    for (const key of metadata.getMetadataKeys?.(method) ?? []) metadata.defineMetadata(key, metadata.getMetadata(key, method), descriptor.value);
    return descriptor;
  };
}
