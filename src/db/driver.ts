/**
 * @module The one seam between the transaction layer and a PostgreSQL client library: a `Driver` hands
 * out `Lease`s (one connection each), bounded in time, and reports its pool figures.
 */

/** A query as pg takes it: text, or a config object (`{ text, values, rowMode }`). */
export type QueryInput = string | { text: string; values?: unknown[]; rowMode?: 'array'; [k: string]: unknown };

/** The part of pg's `QueryResult` webtool and query builders read. */
export interface QueryResult<R = any> {
  rows: R[];
  rowCount: number | null;
  /** The command tag (`INSERT`, `COMMIT`, `ROLLBACK`…) when the driver reports one. */
  command?: string;
  fields?: unknown[];
}

/** One connection, checked out until `release()`. */
export interface Lease {
  query<R = any>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>>;
  /**
   * Runs several statements without parameters in one round trip (PostgreSQL's simple query protocol);
   * the server skips the ones after the first error, which rejects. Resolves to the last statement's command
   * tag when the client reports one. Optional: without it webtool sends them one by one, a round trip each.
   */
  batch?(statements: readonly string[]): Promise<string | undefined>;
  /** Returns the connection; with `destroy` the connection is closed instead of reused. */
  release(destroy?: boolean): void;
}

/** Pool figures, named as pg-pool names them. */
export interface PoolStats {
  /** Connections open (idle or leased). */
  totalCount: number;
  idleCount: number;
  /** Callers waiting for a connection. */
  waitingCount: number;
  /** The most connections this driver opens at once. */
  maxConnections: number;
}

/** A PostgreSQL client library behind one interface: pg's `Pool` or PGlite. */
export interface Driver {
  readonly kind: 'pg' | 'pglite';
  /** 1 for PGlite: a nested `requires_new` would wait for itself, so it fails fast instead. */
  readonly maxConnections: number;
  /**
   * Whether the COMMIT command tag tells a real commit from a rollback (pg: yes, `ROLLBACK` on an aborted
   * transaction; PGlite: no, so the scope probes the transaction before COMMIT).
   */
  readonly reportsCommandTag: boolean;
  /**
   * A connection within `timeoutMs`. A connection that arrives after the bound is released, never leaked.
   * @throws DbUnavailableError on timeout or when the server cannot be reached
   */
  acquire(timeoutMs: number): Promise<Lease>;
  stats(): PoolStats;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}
