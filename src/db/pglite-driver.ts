/**
 * @module `Driver` over PGlite (WASM PostgreSQL, in memory or in a directory): one connection, handed to
 * one lease at a time through a FIFO queue whose waits are bounded and removed on timeout.
 */
import type { PGlite } from '@electric-sql/pglite';
import { DbUnavailableError } from '../errors';
import type { Driver, Lease, PoolStats, QueryInput, QueryResult } from './driver';

/** Options of {@link PGliteDriver}. */
export interface PGliteDriverOptions {
  /** A directory to keep the database in; in memory when absent. */
  dataDir?: string;
  /** A PGlite instance you created; you close it (`close()` leaves it open). */
  instance?: PGlite | Promise<PGlite>;
}

interface Waiter {
  resolve(lease: Lease): void;
}

class PGliteLease implements Lease {
  private released = false;
  constructor(private readonly db: PGlite, private readonly onRelease: () => void) {}

  async query<R>(query: QueryInput, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.released) throw new Error('webtool/db: query on a released connection');
    const text = typeof query === 'string' ? query : query.text;
    const params = typeof query === 'string' ? values : (query.values ?? values);
    const rowMode = typeof query === 'string' ? undefined : query.rowMode;
    const result = await this.db.query<R>(text, params as any[], rowMode ? { rowMode } : undefined);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, fields: result.fields };
  }

  async batch(statements: readonly string[]): Promise<undefined> {
    if (this.released) throw new Error('webtool/db: query on a released connection');
    await this.db.exec(statements.join('; '));
    return undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    // The one connection is never closed: one released inside a BEGIN is rolled back before the next user gets it.
    if ((this.db as { isInTransaction?: () => boolean }).isInTransaction?.()) {
      void this.db
        .exec('ROLLBACK')
        .catch(() => undefined)
        .finally(() => this.onRelease());
      return;
    }
    this.onRelease();
  }
}

/** PGlite behind the `Driver` interface: `maxConnections` is 1. */
export class PGliteDriver implements Driver {
  readonly kind = 'pglite';
  readonly maxConnections = 1;
  readonly reportsCommandTag = false;
  private readonly ready: Promise<PGlite>;
  private leased = false;
  private readonly waiters: Waiter[] = [];
  private closed?: Promise<void>;
  private readonly owned: boolean;

  constructor(options: PGliteDriverOptions = {}) {
    this.owned = !options.instance;
    if (options.instance) {
      this.ready = Promise.resolve(options.instance);
    } else {
      // Loaded lazily: PGlite is an optional peer, and its start costs seconds.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PGlite: Ctor } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
      this.ready = Ctor.create(options.dataDir);
    }
    this.ready.catch(() => undefined);
  }

  /** Resolves once the embedded server has started. */
  whenReady(): Promise<void> {
    return this.ready.then(() => undefined);
  }

  async acquire(timeoutMs: number): Promise<Lease> {
    if (this.closed) throw new DbUnavailableError('database is closed');
    let db: PGlite;
    try {
      db = await this.ready;
    } catch (err) {
      throw new DbUnavailableError('embedded PostgreSQL (PGlite) failed to start', { cause: err });
    }
    if (!this.leased) {
      this.leased = true;
      return this.lease(db);
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (lease) => {
          clearTimeout(timer);
          resolve(lease);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new DbUnavailableError(`no database connection within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private lease(db: PGlite): Lease {
    return new PGliteLease(db, () => {
      const next = this.waiters.shift();
      if (next) next.resolve(this.lease(db));
      else this.leased = false;
    });
  }

  stats(): PoolStats {
    const open = this.closed ? 0 : 1;
    return { totalCount: open, idleCount: this.leased ? 0 : open, waitingCount: this.waiters.length, maxConnections: 1 };
  }

  close(): Promise<void> {
    this.closed ??= this.ready.then((db) => (this.owned ? db.close() : undefined), () => undefined);
    return this.closed;
  }
}
