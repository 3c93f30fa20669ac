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

/**
 * Waits for the start of a wall-clock second. Tokens carry whole-second `iat`/`exp`, so a token of
 * lifetime N issued late in a second lives barely more than N − 1 s: specs that use a token before
 * it expires issue it right after this.
 */
export async function startOfSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000));
}

/** Waits until a token's own `exp` (seconds, read without verifying) has passed. */
export async function pastExpiry(token: string): Promise<void> {
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number };
  await sleep(Math.max(0, exp * 1000 - Date.now()) + 50);
}
