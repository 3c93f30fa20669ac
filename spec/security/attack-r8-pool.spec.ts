/**
 * attack-r8: what a hang-up costs in connections. A handler that does not end its response once the client is
 * gone (Express's own res.sendFile: after a hang-up `send` destroys its file stream and sendFile swallows
 * ECONNABORTED, so res.end() is never called) makes transactional() keep the request transaction, and its
 * connection, for the whole abortGraceMs (10 s by default) although the handler finished in milliseconds.
 * With PGlite (one connection) a single hang-up then answers every other client 503; on pg, pool-size
 * hang-ups do. And when the hang-up comes before transactional() runs (an async middleware before it),
 * the hold never learns of it: the connection is held with no bound at all.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

let db: Database;
let T: string;
const file = join(tmpdir(), `attack-r8-${process.pid}.csv`);
writeFileSync(file, 'id,name\n'.repeat(4000));

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

function makeApp() {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  app.post('/items', transactional(db), async (req, res) => {
    await insert(req.body.name);
    res.status(201).json({ ok: true });
  });
  // Ordinary user code: log the export in the request transaction, then send the file.
  app.post('/export', transactional(db), async (req, res) => {
    await insert(req.body.name);
    await sleep(50);
    res.sendFile(file);
  });
  // A download counter: a hot row updated by every download.
  app.post('/download', transactional(db), async (_req, res) => {
    await db.query(`UPDATE ${T}_files SET downloads = downloads + 1 WHERE id = 1`);
    await sleep(50);
    res.sendFile(file);
  });
  app.post('/count', transactional(db), async (_req, res) => {
    const { rows } = await db.query<{ downloads: number }>(`UPDATE ${T}_files SET downloads = downloads + 1 WHERE id = 1 RETURNING downloads`);
    res.status(201).json(rows[0]);
  });
  // The same, behind an async middleware (a session or auth lookup) that runs before transactional().
  const authLike = async (_req: express.Request, _res: express.Response, next: express.NextFunction) => {
    await sleep(80);
    next();
  };
  app.post('/late-export', authLike, transactional(db, { abortGraceMs: 300 }), async (req, res) => {
    await insert(req.body.name);
    res.sendFile(file);
  });
  // A statement that runs longer than the grace.
  app.post('/long', transactional(db, { abortGraceMs: 300 }), async (req, res, next) => {
    try {
      await insert(req.body.name);
      await db.query('SELECT pg_sleep(2)');
      res.status(201).end();
    } catch (err) {
      next(err);
    }
  });
  return app;
}

/** Holds `ms` the time during which the pool is not idle, polled from now. */
async function heldFor(maxMs: number): Promise<number> {
  const t0 = performance.now();
  const idle = await untilIdle(db, maxMs);
  return idle < 0 ? -1 : Math.round(performance.now() - t0);
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8 connections held after hang-ups (Express 4, ${driver})`, function () {
    this.timeout(60_000);
    let server: any;
    let port: number;
      // No DROP: a transaction still held would block it; the database (or in-memory PGlite) goes at the end.
    hangUpSuite({ driver, prefix: 'r8p', makeApp: () => makeApp(), idleMs: 12_000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    it('control: res.sendFile under transactional() answers the file and commits for a client that waits', async () => {
      const res = await request(server).post('/export').send({ name: 'waited' });
      expect(res.status).to.equal(200);
      expect(res.text.length).to.equal(8 * 4000);
      expect(await names()).to.deep.equal(['waited']);
    });

    it('a hang-up on a handler that ends with res.sendFile gives its connection back within 1 s (the handler is done after ~50 ms)', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/export', JSON.stringify({ name: 'gone' })), 20);
        await sleep(100);
        const held = await heldFor(12_000);
        console.log(`      [${driver}] connection held ${held} ms after the hang-up (handler finished at ~50 ms)`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(await names(), 'rolled back').to.deep.equal([]);
        expect(held, 'ms the connection stayed held after the handler finished').to.be.within(0, 1000);
      } finally {
        traps.stop();
      }
    });

    it('well-behaved clients are served while hang-ups on /export come in (one per pool connection)', async () => {
      const traps = trap();
      try {
        const max = db.primary.stats().maxConnections ?? 10;
        const n = driver === 'pg' ? max : 1;
        await Promise.all(Array.from({ length: n }, (_, i) => hangUp(port, rawPost('/export', JSON.stringify({ name: `gone${i}` })), 20)));
        await sleep(150);
        const t0 = performance.now();
        // The /items handler has no try/catch (README style): a DbUnavailableError there is an unhandled rejection under Express 4.
        const res = await request(server)
          .post('/items')
          .send({ name: 'well-behaved' })
          .timeout(8000)
          .then(
            (r) => ({ status: r.status, code: r.body?.code as string | undefined }),
            (e: Error & { timeout?: number }) => ({ status: e.timeout ? -1 : -2, code: String(e.message) }),
          );
        const ms = Math.round(performance.now() - t0);
        const held = await heldFor(12_000);
        console.log(`      [${driver}] ${n} hang-up(s): well-behaved client got ${res.status === -1 ? 'no answer (timed out)' : res.status} after ${ms} ms; unhandled rejections: ${traps.rejections.map(describeErr).join('; ') || 'none'}; pool idle ${held} ms later`);
        expect(res.status, `a well-behaved request after ${n} hang-up(s)`).to.equal(201);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    if (driver === 'pg') {
      it('one hang-up on a download that updates a hot row: other writers of that row are not blocked for the grace', async () => {
        await db.query(`CREATE TABLE ${T}_files (id int PRIMARY KEY, downloads int NOT NULL)`);
        await db.query(`INSERT INTO ${T}_files VALUES (1, 0)`);
        await hangUp(port, rawPost('/download', '{}'), 20);
        await sleep(100);
        const t0 = performance.now();
        const res = await request(server).post('/count').timeout(15_000);
        const ms = Math.round(performance.now() - t0);
        console.log(`      [${driver}] a writer of the same row waited ${ms} ms after one hang-up (status ${res.status})`);
        expect(res.status).to.equal(201);
        expect(res.body, 'the hung-up download rolled back').to.deep.equal({ downloads: 1 });
        expect(ms, 'ms a well-behaved writer of the row waited').to.be.below(1000);
      });

      it('a statement under way at the hang-up (pg_sleep(2), abortGraceMs 300) is waited for, as for a client that waits: the connection comes back when it ends, nothing commits', async () => {
        await hangUp(port, rawPost('/long', JSON.stringify({ name: 'long' })), 20);
        const held = await heldFor(5000);
        expect(await names()).to.deep.equal([]);
        expect(held, 'ms held after the hang-up').to.be.within(1500, 2600);
      });

      it('a hang-up while an async middleware before transactional() runs: the connection is still given back (abortGraceMs 300)', async () => {
        const traps = trap();
        try {
          await hangUp(port, rawPost('/late-export', JSON.stringify({ name: 'late' })), 20);
          await sleep(150);
          const held = await heldFor(6000);
          const stats = db.primary.stats();
          console.log(`      [${driver}] held ${held === -1 ? '> 6000 (still held)' : held} ms; stats ${JSON.stringify(stats)}`);
          expect(held, 'ms until the connection came back (-1: not within 6 s)').to.be.within(0, 1000);
        } finally {
          traps.stop();
        }
      });
    }
  });
}
