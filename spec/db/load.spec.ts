/**
 * @module Load and failure specs on the PostgreSQL 15 server: serialization retry, pool bounds, bounded
 * acquire, no leak after a storm of failures, close() under load, no credentials in errors.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { Database, DbUnavailableError, SerializationError, transactional, WebtoolError } from '../../src';
import { adminQuery, createTestDatabase, memoryLogger } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A problem+json error handler, as an app would mount it. */
function problems(err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) {
  if (res.headersSent) return next(err);
  const problem = err instanceof WebtoolError ? err : null;
  res.status(problem?.status ?? 500).type('application/problem+json').send(JSON.stringify(problem ?? { status: 500 }));
}

async function listen(app: express.Express): Promise<{ port: number; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
after(() => agent.destroy());

function call(port: number, path: string, abortAfterMs?: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ port, host: '127.0.0.1', path, method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
    req.end();
    if (abortAfterMs !== undefined) setTimeout(() => req.destroy(), abortAfterMs);
  });
}

describe('Database under load (PostgreSQL 15 server)', function () {
  this.timeout(120_000);
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  before(async () => {
    pg = await createTestDatabase();
  });
  after(async () => pg.drop());

  const serverSessions = async (state?: string) =>
    Number((await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 ${state ? 'AND state = $2' : ''}`, state ? [pg.name, state] : [pg.name]))[0].n);

  it('50 concurrent SERIALIZABLE increments of one row end at exactly 50 with retry; without it most fail with 40001', async () => {
    const db = new Database({ primary: pg.url });
    try {
      await db.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)');
      const increment = (retry?: false) =>
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1');
          await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [rows[0].n + 1]);
        }, { isolation: 'serializable', retry });

      await db.query('INSERT INTO counter VALUES (1, 0)');
      const without = await Promise.allSettled(Array.from({ length: 50 }, () => increment(false)));
      const failed = without.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(failed.length).to.be.greaterThan(25);
      for (const f of failed) {
        expect(f.reason).to.be.instanceOf(SerializationError);
        expect(f.reason.cause.code).to.equal('40001');
      }
      expect((await db.query('SELECT n FROM counter')).rows[0].n).to.equal(50 - failed.length);

      await db.query('UPDATE counter SET n = 0');
      const withRetry = await Promise.allSettled(Array.from({ length: 50 }, () => increment()));
      expect(withRetry.filter((r) => r.status === 'rejected')).to.deep.equal([]);
      expect((await db.query('SELECT n FROM counter')).rows[0].n).to.equal(50);
    } finally {
      await db.close();
    }
  });

  it('pool max 10 under 200 concurrent requests: all succeed, never more than 10 connections', async () => {
    const db = new Database({ primary: pg.url });
    await db.query('CREATE TABLE IF NOT EXISTS hits (id serial PRIMARY KEY)');
    const app = express();
    app.use(transactional(db));
    app.post('/hit', async (req, res, next) => {
      try {
        await db.query('INSERT INTO hits DEFAULT VALUES');
        await db.query('SELECT pg_sleep(0.005)');
        res.status(201).end();
      } catch (err) {
        next(err);
      }
    });
    app.use(problems);
    const server = await listen(app);
    let maxClients = 0;
    let maxSessions = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxClients = Math.max(maxClients, db.primary.stats().totalCount);
        maxSessions = Math.max(maxSessions, await serverSessions());
        await sleep(5);
      }
    })();
    try {
      const statuses = await Promise.all(Array.from({ length: 200 }, () => call(server.port, '/hit')));
      expect(statuses.filter((s) => s !== 201)).to.deep.equal([]);
      expect((await db.query('SELECT count(*)::int AS n FROM hits')).rows[0].n).to.equal(200);
    } finally {
      sampling = false;
      await sampler;
      await server.close();
      await db.close();
    }
    expect(maxClients).to.be.at.most(10).and.at.least(2);
    expect(maxSessions).to.be.at.most(10);
  });

  it('with the pool held, a request gets 503 within acquireTimeoutMs + 50 ms; late connections are released', async () => {
    const db = new Database({ primary: pg.url, acquireTimeoutMs: 200 });
    const app = express();
    app.use(transactional(db));
    app.post('/q', async (req, res, next) => {
      try {
        await db.query('SELECT 1');
        res.end();
      } catch (err) {
        next(err);
      }
    });
    app.use(problems);
    const server = await listen(app);
    try {
      const held = [];
      for (let i = 0; i < 10; i++) held.push(await db.pool.connect());
      const statuses: number[] = [];
      const elapsed: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        statuses.push(await call(server.port, '/q'));
        elapsed.push(performance.now() - started);
      }
      expect(statuses).to.deep.equal([503, 503, 503, 503, 503]);
      // the first call also opens the HTTP connection; each answer within acquireTimeoutMs + 50 ms
      expect(Math.max(...elapsed.slice(1)), elapsed.join(', ')).to.be.lessThan(250);
      expect(Math.min(...elapsed)).to.be.at.least(195);
      const err = await db.query('SELECT 1').catch((e) => e);
      expect(err).to.be.instanceOf(DbUnavailableError);
      expect(err.code).to.equal('ERR_WT_DB_UNAVAILABLE');
      for (const client of held) client.release();
      await sleep(50);
      const stats = db.primary.stats();
      expect(stats.waitingCount).to.equal(0);
      expect(stats.idleCount).to.equal(stats.totalCount);
      expect(await call(server.port, '/q')).to.equal(200);
    } finally {
      await server.close();
      await db.close();
    }
  });

  it('after 2,000 requests (WT_DB_STORM_REQUESTS=10000 for the figure of the issue; 2,000 keeps the suite short on 2 cores) with random throws (handler, hook, commit), client aborts and 1% terminated backends: nothing leaks', async () => {
    const logger = memoryLogger();
    const db = new Database({ primary: pg.url, logger });
    await db.query('CREATE TABLE storm (id serial PRIMARY KEY, k int UNIQUE DEFERRABLE INITIALLY DEFERRED)');
    await db.query('INSERT INTO storm (k) VALUES (-1)');
    const app = express();
    app.use(transactional(db));
    app.post('/storm', async (req, res, next) => {
      try {
        const roll = Math.random();
        await db.query('INSERT INTO storm (k) VALUES ($1)', [roll < 0.1 ? -1 : null]); // < 0.1: fails at COMMIT
        if (roll > 0.99) await db.query('SELECT pg_terminate_backend(pg_backend_pid())');
        if (roll > 0.9 && roll <= 0.99) db.afterCommit(() => {
          throw new Error('hook failed');
        });
        if (roll > 0.8 && roll <= 0.9) throw new Error('handler failed');
        if (roll > 0.7 && roll <= 0.8) await sleep(3);
        res.status(201).end();
      } catch (err) {
        next(err);
      }
    });
    app.use(problems);
    const server = await listen(app);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const counts = new Map<number, number>();
    try {
      let next = 0;
      const total = Number(process.env.WT_DB_STORM_REQUESTS ?? 2_000);
      await Promise.all(Array.from({ length: 40 }, async () => {
        while (next < total) {
          const i = next++;
          const status = await call(server.port, '/storm', i % 50 === 0 ? 1 : undefined);
          counts.set(status, (counts.get(status) ?? 0) + 1);
        }
      }));
      await sleep(100);
      const stats = db.primary.stats();
      expect(stats.waitingCount).to.equal(0);
      expect(stats.idleCount).to.equal(stats.totalCount);
      expect(await serverSessions('idle in transaction')).to.equal(0);
      expect(await serverSessions('active')).to.equal(0);
      expect(unhandled).to.deep.equal([]);
      expect(counts.get(201)).to.be.greaterThan(total / 2);
      expect(counts.get(409)).to.be.greaterThan(0); // commit failures answered as problems, never 2xx
      expect(logger.lines.join('\n')).to.not.contain('postgres://');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await server.close();
      await db.close();
    }
  });

  it('close() under load lets running transactions finish, refuses new ones, raises no unhandled rejection', async () => {
    const db = new Database({ primary: pg.url });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const running = Array.from({ length: 30 }, (_, i) => db.transaction(async (tx) => {
        await tx.query('SELECT pg_sleep(0.05)');
        return i;
      }));
      await sleep(10);
      const closing = db.close();
      const refused = await db.transaction(() => 1).catch((e) => e);
      expect(refused.code).to.equal('ERR_WT_DB_CLOSED');
      expect(refused.status).to.equal(503);
      const results = await Promise.allSettled(running);
      await closing;
      expect(results.every((r) => r.status === 'fulfilled')).to.equal(true);
      await sleep(20);
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('connection strings and passwords appear in no error and no log', async () => {
    const logger = memoryLogger();
    const db = new Database({ primary: 'postgres://wt:sekr3t-pass@127.0.0.1:1/nowhere', acquireTimeoutMs: 2000, logger });
    try {
      const err = await db.transaction((tx) => tx.query('SELECT 1')).catch((e) => e);
      expect(err).to.be.instanceOf(DbUnavailableError);
      const everything = [err.message, JSON.stringify(err), String(err.stack), String(err.cause?.message), JSON.stringify(err.cause ?? {}), ...logger.lines].join('\n');
      expect(everything).to.not.contain('sekr3t');
      expect(everything).to.not.contain('postgres://');
      expect((await db.health()).ok).to.equal(false);
    } finally {
      await db.close();
    }
  });
});
