/**
 * @module `withRollback(db, fn)`: a test helper. Everything `fn` does — HTTP requests through supertest
 * included — runs in one transaction that is rolled back at the end; inner transactions become savepoints.
 */
import type { Database } from './database';

/**
 * Runs `fn` with every statement of `db` pinned to one transaction, then rolls it back.
 * Transactions opened meanwhile (in any request) become savepoints of it, taken one at a time;
 * their afterCommit hooks run when the savepoint is released.
 * @throws TransactionPropagationError when a `withRollback` is already running on `db`
 * @example it('creates a user', () => withRollback(db, async () => { await request(app).post('/users').expect(201); }));
 */
export function withRollback(db: Database, fn: () => Promise<void> | void): Promise<void> {
  return db.pin(fn);
}
