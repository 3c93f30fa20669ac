/** @module The logger webtool/db writes to: hook failures and connection errors, never credentials. */

/** What webtool/db logs through; `console` fits. */
export interface Logger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}
