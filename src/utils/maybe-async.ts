/**
 * @module Values that may or may not be promises: the request path stays synchronous where nothing
 * waits (a reused token, an in-process store) and takes a promise only where something does.
 */

/** True for a promise (or any thenable). */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs `run` and hands its value to `then`: at once when it is a plain value, once it resolves when it
 * is a promise. A throw or a rejection goes to `fail` (a middleware's `next`).
 */
export function whenSettled<T>(run: () => T | PromiseLike<T>, then: (value: T) => void, fail: (err: unknown) => void): void {
  let value: T | PromiseLike<T>;
  try {
    value = run();
  } catch (err) {
    return fail(err);
  }
  if (!isThenable(value)) return then(value);
  // One reaction, not then + catch: a throw in `then` goes to `fail` all the same.
  value.then((settled) => {
    try {
      then(settled);
    } catch (err) {
      fail(err);
    }
  }, fail);
}
