/** @module What travels with a request through AsyncLocalStorage: the current scope and the request's replica stickiness. */
import type { Activity, Level, Transaction } from './transaction';

/** A scope inside a transaction: the transaction, and the level (whole or savepoint) it adds hooks to. */
export interface Scope {
  readonly tx: Transaction;
  readonly level: Level;
  /** The scope `withRollback` pins: the test's own transaction, around the code under test. */
  readonly pinned?: boolean;
}

/** Per request (or per outermost call) state. */
export interface RequestState {
  /** Set once the request used the primary: later read-only transactions stay on it (read-your-writes). */
  usedPrimary: boolean;
  /** Statements under way in the request's transactions (created with the first one). */
  activity?: Activity;
}

/** The store of a Database's AsyncLocalStorage. */
export interface Store {
  /** The transaction scope in effect; `undefined` outside a transaction (or suspended by `not_supported`). */
  scope?: Scope;
  /** The `withRollback` scope this work runs under, if any (kept after it ended, so late statements fail). */
  pin?: Scope;
  request: RequestState;
}
