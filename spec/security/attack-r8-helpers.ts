/** @module Helpers of the attack-r8 specs: a raw HTTP client that hangs up when told, and process-level traps. */
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Database, DatabaseOptions } from '../../src';
import { openTestDatabase, uniqueName } from '../db/support';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function listen(app: (req: any, res: any) => void): Promise<{ server: Server; port: number }> {
  const http = await import('node:http');
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

export function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

/** A POST as raw bytes. `body` undefined: none; `declared` lets the Content-Length exceed what is sent. */
export function rawPost(path: string, body: string, declared = Buffer.byteLength(body)): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${body}`;
}

export interface HangUp {
  /** performance.now() when the socket was destroyed (undefined if the answer came first and we kept it). */
  hungUpAt?: number;
  /** Whether any byte of an answer arrived before the hang-up. */
  answered: boolean;
  data: string;
}

/**
 * Writes `payload` (string or chunks with pauses) on a fresh socket and destroys it `afterMs` after the
 * last chunk (or as soon as the first byte of an answer arrives, with `onFirstByte`).
 */
export function hangUp(port: number, payload: string | (string | number)[], afterMs: number, opts: { onFirstByte?: boolean } = {}): Promise<HangUp> {
  return new Promise((resolve) => {
    const out: HangUp = { answered: false, data: '' };
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!socket.destroyed) {
        out.hungUpAt = performance.now();
        socket.destroy();
      }
      resolve(out);
    };
    socket.on('data', (d) => {
      out.answered = true;
      out.data += d.toString('latin1');
      if (opts.onFirstByte) finish();
    });
    socket.on('close', () => resolve(out));
    socket.on('connect', async () => {
      const chunks = typeof payload === 'string' ? [payload] : payload;
      for (const c of chunks) {
        if (typeof c === 'number') await sleep(c);
        else socket.write(c);
      }
      if (!opts.onFirstByte || afterMs >= 0) setTimeout(finish, Math.max(0, afterMs));
      else setTimeout(finish, 10_000);
    });
  });
}

/** Records unhandled rejections and uncaught exceptions until `stop()`. Mocha's own handlers stay. */
export function trap(): { rejections: unknown[]; exceptions: unknown[]; stop(): void } {
  const rejections: unknown[] = [];
  const exceptions: unknown[] = [];
  // Mocha re-emits each rejection to the other listeners: count each error once.
  const onRej = (e: unknown) => void (rejections.includes(e) || rejections.push(e));
  const onExc = (e: unknown) => void (exceptions.includes(e) || exceptions.push(e));
  process.on('unhandledRejection', onRej);
  process.prependListener('uncaughtException', onExc);
  return {
    rejections,
    exceptions,
    stop() {
      process.off('unhandledRejection', onRej);
      process.off('uncaughtException', onExc);
    },
  };
}

/** Polls until the primary's pool is idle (every connection back, nobody waiting); the ms it took, or -1 past `maxMs`. */
export async function untilIdle(db: Database, maxMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = db.primary.stats();
    if (s.waitingCount === 0 && s.idleCount === s.totalCount) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > maxMs) return -1;
    await sleep(10);
  }
}

export function describeErr(e: unknown): string {
  const err = e as { name?: string; code?: string; message?: string };
  return `${err?.name ?? typeof e}${err?.code ? `(${err.code})` : ''}: ${String(err?.message ?? e).slice(0, 120)}`;
}

/**
 * The describe-level set-up of the attack-r8 suites: a private database (`openTestDatabase`) and `app`
 * listening on loopback for the whole suite; per test a fresh `(id, name)` table, and afterwards every
 * connection idle again (within `idleMs`), then the table dropped unless `dropTable` is false (a
 * transaction still held would block the DROP; the database goes at the end anyway). `dbOptions` go to the
 * Database (a small pool, say); `onDb` also gets the pg database's name (for pg_stat_activity).
 */
export function hangUpSuite(options: {
  driver: 'pg' | 'PGlite';
  prefix: string;
  makeApp: () => (req: any, res: any) => void;
  idleMs: number;
  dropTable?: boolean;
  dbOptions?: Omit<DatabaseOptions, 'primary'>;
  onDb: (db: Database, name?: string) => void;
  onTable: (name: string) => void;
  onListen: (listening: { server: Server; port: number }) => void;
}): void {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;
  let server: Server | undefined;
  let table: string;
  before(async () => {
    let name: string | undefined;
    ({ db, drop, name } = await openTestDatabase(options.driver, options.dbOptions));
    options.onDb(db, name);
    const listening = await listen(options.makeApp());
    server = listening.server;
    options.onListen(listening);
  });
  after(async () => {
    await closeServer(server);
    await db.close({ timeoutMs: 3000 });
    await drop?.();
  });
  beforeEach(async () => {
    table = uniqueName(options.prefix);
    options.onTable(table);
    await db.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text)`);
  });
  afterEach(async () => {
    await untilIdle(db, options.idleMs);
    if (options.dropTable !== false) await db.query(`DROP TABLE IF EXISTS ${table}`);
  });
}

/** A real server process (a spec's `*-child.ts`), to tell whether a hang-up can end it. */
export interface ChildServer {
  port: number;
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** Its exit code once it exits. */
  exited: Promise<number | null>;
  /** Ends it (SIGTERM) unless it already exited. */
  stop(): Promise<void>;
}

/** Runs `spec/security/<script>` with ts-node and `args`; resolves once it prints `PORT <n>` (20 s at most). */
export async function startChildServer(script: string, args: string[]): Promise<ChildServer> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, script), ...args], {
    cwd: join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /PORT (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      setTimeout(() => reject(new Error(`child did not start: ${stderr}`)), 20_000).unref();
    });
    return { port, stderr: () => stderr, exited, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
