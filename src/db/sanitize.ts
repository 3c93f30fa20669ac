/**
 * @module Errors from pg can carry the client (and with it the connection string and password):
 * strip such fields before an error is kept as a `cause`, thrown on, or logged.
 */

const secretFields = ['client', 'connectionParameters', 'connectionString', 'password'];

/** Removes fields that may hold credentials from an error object, in place; returns it. */
export function sanitizeError<E>(error: E): E {
  if (error && typeof error === 'object') {
    for (const field of secretFields) {
      if (field in error) {
        try {
          delete (error as Record<string, unknown>)[field];
        } catch {
          // a non-configurable field: leave it, the error is still thrown on
        }
      }
    }
  }
  return error;
}

/** The SQLSTATE of an error from PostgreSQL, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A SQLSTATE class 08 (connection) or 57P0x (shutdown/termination): the connection is gone. */
export function isConnectionError(error: unknown): boolean {
  const state = sqlState(error);
  if (state) return state.startsWith('08') || /^57P0[1-3]$/.test(state);
  const message = (error as Error | null)?.message ?? '';
  return /Connection terminated|ECONNREFUSED|ECONNRESET|Client has encountered a connection error|not queryable/i.test(message);
}
