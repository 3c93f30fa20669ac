import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { Body, JsonController, Post, useExpressServer } from 'routing-controllers';
import request from 'supertest';
import { Database, Transactional, transactional, withRollback } from '../../src';
import { uniqueName, openTestDatabase } from './support';

let db: Database;
let T: string;
let runs = 0;
const afterAbort: number[] = [];

@JsonController('/rc')
class ItemsController {
  @Post('/items')
  @Transactional(() => db)
  async create(@Body() body: { name: string }) {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [body.name]);
    return { inTransaction: db.inTransaction() };
  }

  @Post('/retried')
  @Transactional(() => db, { retry: { attempts: 3, baseMs: 1, maxMs: 5 } })
  async retried(@Body() body: { name: string }) {
    runs++;
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${body.name} ${runs}`]);
    if (runs === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    return { runs };
  }

  @Post('/swallow')
  @Transactional(() => db)
  async swallow(@Body() body: { name: string }) {
    await db.query('SET CONSTRAINTS ALL IMMEDIATE');
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [body.name]);
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [body.name]).catch(() => undefined);
    return { ok: true };
  }
}

function makeApp() {
  const app = express();
  // The middleware on the plain routes (before the body parser); /rc/* is left to @Transactional alone.
  const tx = [transactional(db), express.json()];
  app.post('/items', ...tx, async (req, res, next) => {
    try {
      await Promise.all([db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]), new Promise((r) => setTimeout(r, 5))]);
      res.status(201).json({ inTransaction: db.inTransaction() });
    } catch (err) {
      next(err);
    }
  });
  app.post('/swallow', ...tx, async (req, res) => {
    await db.query('SET CONSTRAINTS ALL IMMEDIATE');
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]).catch(() => undefined);
    res.status(200).json({ ok: true });
  });
  app.post('/refuse', ...tx, async (req, res) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    res.status(422).json({ refused: true });
  });
  app.post('/slow', ...tx, async (req, res) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await new Promise((r) => setTimeout(r, 300));
    res.json({ late: true });
  });
  // Express 4 does not catch an async handler's rejection: one would be an unhandled rejection.
  app.post('/after-abort', ...tx, async (req, res) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await new Promise((r) => setTimeout(r, 300));
    afterAbort.push((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${T}`)).rows[0].n);
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name} 2`]);
    res.json({ late: true });
  });
  app.post('/never-ends', transactional(db, { abortGraceMs: 200 }), express.json(), async (req) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
  });
  useExpressServer(app, { controllers: [ItemsController], defaultErrorHandler: true });
  return app;
}

const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`transactional() and @Transactional on ${driver}`, function () {
    this.timeout(60_000);
    let app: express.Express;
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      ({ db, drop } = await openTestDatabase(driver));
      app = makeApp();
    });
    after(async () => {
      await db.close();
      await drop?.();
    });
    beforeEach(async () => {
      T = uniqueName('items');
      // Deferred: a duplicate is detected at COMMIT, after the handler has chosen its 2xx.
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text UNIQUE DEFERRABLE INITIALLY DEFERRED)`);
    });
    afterEach(async () => db.query(`DROP TABLE IF EXISTS ${T}`));

    it('commits before the response: the row is visible when the 201 arrives; the scope survived express.json() and Promise.all', async () => {
      const res = await request(app).post('/items').send({ name: 'a' }).expect(201);
      expect(res.body).to.deep.equal({ inTransaction: true });
      expect(await names()).to.deep.equal(['a']);
    });

    it('a COMMIT that fails answers problem+json 409, never the 2xx the handler chose', async () => {
      await request(app).post('/items').send({ name: 'dup' }).expect(201);
      const res = await request(app).post('/items').send({ name: 'dup' });
      expect(res.status).to.equal(409);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(res.body).to.deep.equal({ type: 'about:blank', title: 'Conflict', status: 409, code: 'ERR_WT_DB_TRANSACTION_ABORTED' });
      expect(await names()).to.deep.equal(['dup']);
    });

    it('a swallowed statement error: the request gets 409, nothing is committed', async () => {
      const res = await request(app).post('/swallow').send({ name: 's' });
      expect(res.status).to.equal(409);
      expect(res.body.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
      expect(await names()).to.deep.equal([]);
    });

    it('a 4xx/5xx answer rolls back and is sent as the handler wrote it', async () => {
      const res = await request(app).post('/refuse').send({ name: 'r' }).expect(422);
      expect(res.body).to.deep.equal({ refused: true });
      expect(await names()).to.deep.equal([]);
    });

    it('the scope survives a request body that arrives late (express.json() waits for it)', async () => {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/items', headers: { 'content-type': 'application/json', 'content-length': 12 } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve(text));
          });
          req.on('error', reject);
          req.flushHeaders();
          setTimeout(() => req.end('{"name":"l"}'), 100);
        });
        expect(JSON.parse(body)).to.deep.equal({ inTransaction: true });
        expect(await names()).to.deep.equal(['l']);
      } finally {
        server.close();
      }
    });

    it('a client that aborts: its transaction rolls back and the connection comes back', async () => {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/slow', headers: { 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        req.end('{"name":"aborted"}');
        await new Promise((r) => setTimeout(r, 100));
        req.destroy();
        await new Promise((r) => setTimeout(r, 400));
        expect(await names()).to.deep.equal([]);
        const stats = db.primary.stats();
        expect(stats.waitingCount).to.equal(0);
        expect(stats.idleCount).to.equal(stats.totalCount);
      } finally {
        server.close();
      }
    });

    it('a client that hangs up mid-request: the handler\'s later statements still run (in the transaction, which rolls back), so an Express 4 async handler raises no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        afterAbort.length = 0;
        const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/after-abort', headers: { 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        req.end('{"name":"gone"}');
        await new Promise((r) => setTimeout(r, 100));
        req.destroy();
        await new Promise((r) => setTimeout(r, 600));
        expect(unhandled).to.deep.equal([]);
        expect(afterAbort, 'the statement after the hang-up ran in the request transaction (it sees its own insert)').to.deep.equal([1]);
        expect(await names(), 'nothing commits for a client that left').to.deep.equal([]);
        const stats = db.primary.stats();
        expect(stats.idleCount).to.equal(stats.totalCount);
        await request(app).post('/items').send({ name: 'next' }).expect(201);
        expect(await names()).to.deep.equal(['next']);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        server.close();
      }
    });

    it('a client that hangs up on a handler that never answers: the transaction rolls back after abortGraceMs and the connection comes back', async () => {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/never-ends', headers: { 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        req.end('{"name":"never"}');
        await new Promise((r) => setTimeout(r, 100));
        req.destroy();
        await new Promise((r) => setTimeout(r, 50));
        expect(db.primary.stats().idleCount, 'still held during the grace').to.be.below(db.primary.stats().totalCount);
        await new Promise((r) => setTimeout(r, 400));
        expect(await names()).to.deep.equal([]);
        const stats = db.primary.stats();
        expect(stats.idleCount).to.equal(stats.totalCount);
      } finally {
        server.close();
      }
    });

    it('refuses an abortGraceMs that is not an integer ≥ 0', () => {
      for (const bad of [-1, 1.5, '10', Number.NaN]) expect(() => transactional(db, { abortGraceMs: bad as number }), String(bad)).to.throw(/abortGraceMs/);
    });

    it('@Transactional on a routing-controllers action commits before the response; a swallowed error answers 409', async () => {
      const ok = await request(app).post('/rc/items').send({ name: 'rc' }).expect(200);
      expect(ok.body).to.deep.equal({ inTransaction: true });
      expect(await names()).to.deep.equal(['rc']);
      const res = await request(app).post('/rc/swallow').send({ name: 'x' });
      expect(res.status).to.equal(409);
      expect(res.body.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
      expect(await names()).to.deep.equal(['rc']);
    });

    it('@Transactional retries the whole action on 40001; only the last run is committed', async () => {
      runs = 0;
      const res = await request(app).post('/rc/retried').send({ name: 'r' }).expect(200);
      expect(res.body).to.deep.equal({ runs: 2 });
      expect(await names()).to.deep.equal(['r 2']);
    });

    it('withRollback: requests through supertest see their own writes, and nothing is left afterwards', async () => {
      await withRollback(db, async () => {
        await request(app).post('/items').send({ name: 'w1' }).expect(201);
        await request(app).post('/rc/items').send({ name: 'w2' }).expect(200);
        await request(app).post('/refuse').send({ name: 'w3' }).expect(422);
        expect(await names()).to.deep.equal(['w1', 'w2']);
      });
      expect(await names()).to.deep.equal([]);
    });
  });
}
