/**
 * @module Databases for the db specs: a private PostgreSQL database per run (created and dropped here),
 * and one PGlite instance shared by the PGlite suites (its cold start costs seconds).
 */
import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { Database, type DatabaseOptions } from '../../src/db/database';
import { PGliteDriver } from '../../src/db/pglite-driver';

/** The server the specs use: PG_ADMIN_URL, else the local trust-auth server. */
export const adminUrl = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A unique identifier (table or database name) for this run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `wt_db_<random>`; `drop()` removes it (terminating what is still connected). */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = uniqueName('wt_db');
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

/** Runs one statement as the admin (outside every pool under test). */
export function adminQuery<R = any>(sql: string, values?: unknown[]): Promise<R[]> {
  return admin(async (c) => (await c.query(sql, values)).rows as R[]);
}

let pglite: Promise<PGlite> | undefined;

/** One in-memory PGlite for all PGlite suites of this run. */
export function sharedPGlite(): Promise<PGlite> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  pglite ??= (require('@electric-sql/pglite') as typeof import('@electric-sql/pglite')).PGlite.create();
  return pglite;
}

/** A logger that keeps what it is given, for asserting on logs. */
export function memoryLogger(): { lines: string[]; warn(...a: unknown[]): void; error(...a: unknown[]): void } {
  const lines: string[] = [];
  return { lines, warn: (...a) => lines.push(a.map(String).join(' ')), error: (...a) => lines.push(a.map(String).join(' ')) };
}

/** Closes the shared PGlite, if a suite started it (root afterAll hook). */
export async function closeSharedPGlite(): Promise<void> {
  const started = pglite;
  pglite = undefined;
  if (started) await (await started).close();
}

/**
 * A Database on the given driver for one describe block: a database of its own on the PostgreSQL
 * server (dropped by `drop`; `name` is its name), or the shared PGlite instance. `options` go to the Database.
 */
export async function openTestDatabase(driver: string, options: Omit<DatabaseOptions, 'primary'> = {}): Promise<{ db: Database; name?: string; drop?: () => Promise<void> }> {
  if (driver === 'pg') {
    const pg = await createTestDatabase();
    return { db: new Database({ ...options, primary: pg.url }), name: pg.name, drop: pg.drop };
  }
  return { db: new Database({ ...options, primary: new PGliteDriver({ instance: sharedPGlite() }) }) };
}
