/** @module webtool/db: request-scoped PostgreSQL transactions over pg or PGlite. */
export { Database, type DatabaseOptions, type SqlClient } from './database';
export type { DriverHealth, Health } from './health';
export type { Driver, Lease, PoolStats, QueryInput, QueryResult } from './driver';
export { transactional, type TransactionalMiddlewareOptions } from './express';
export type { Logger as DbLogger } from './logger';
export { RETRYABLE_SQLSTATES, type IsolationLevel, type Propagation, type RetryOptions, type TransactionOptions } from './options';
export { PgDriver, type PgDriverOptions } from './pg-driver';
export { PGliteDriver, type PGliteDriverOptions } from './pglite-driver';
export { ScopedClient, ScopedPool } from './scoped-pool';
export { Transactional, type DatabaseRef } from './transactional';
export { withRollback } from './with-rollback';
export * from '../errors';
