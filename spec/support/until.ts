/** @module Polling helpers for specs that wait on a real process (Redis coming back, a key appearing). */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every 10 ms until it is true. @returns how long it took (ms)
 * @throws when it is still false after `timeoutMs`, naming `what`
 */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}
