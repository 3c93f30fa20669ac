/** @module Bounds a promise in time, so a silent Redis is treated as a failed one. */

/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms`. A late settlement of `promise`
 * is swallowed, never an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
