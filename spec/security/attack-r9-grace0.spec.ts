/**
 * attack-r9: `abortGraceMs: 0` with a statement under way at the hang-up. The option's contract (README and
 * its JSDoc): "once no statement has been under way for this long, it is rolled back and later statements
 * fail", i.e. a statement under way at the hang-up is waited for, whatever the grace. Found by this round
 * (fixed in src/db/express.ts): with 0, a statement still waiting for a connection (pool of 1 held by another
 * request, or PGlite's one connection) was failed at once with TransactionAbortedError, so a README-style
 * one-statement handler's await rejected (under Express 4 without try/catch: an unhandled rejection).
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, PGliteDriver, transactional } from '../../src';
import { createTestDatabase, sharedPGlite, uniqueName } from '../db/support';
import { closeServer, listen, hangUp, rawPost, sleep, untilIdle } from './attack-r8-helpers';

let db: Database;
let T: string;
const outcome = new Map<string, string>();

function makeApp() {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  app.post('/hold', transactional(db), async (req, res, next) => {
    try {
      await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
      await sleep(600);
      res.status(201).json({ ok: true });
    } catch (err) {
      next(err);
    }
  });
  for (const grace of [0, 1]) {
    // One statement, then the answer (the README's shape); the outcome of that statement is recorded.
    app.post(`/one${grace}`, transactional(db, { abortGraceMs: grace }), async (req, res, next) => {
      try {
        await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
        outcome.set(req.body.name, 'ok');
        res.status(201).json({ ok: true });
      } catch (err) {
        outcome.set(req.body.name, (err as Error).name);
        next(err);
      }
    });
  }
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r9 abortGraceMs 0 and a statement waiting for a connection at the hang-up (${driver}, one connection)`, function () {
    this.timeout(30_000);
    let server: any;
    let port: number;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      if (driver === 'pg') {
        const pg = await createTestDatabase();
        drop = pg.drop;
        db = new Database({ primary: pg.url, maxConnections: 1 });
      } else {
        db = new Database({ primary: new PGliteDriver({ instance: sharedPGlite() }) });
      }
      ({ server, port } = await listen(makeApp()));
    });
    after(async () => {
      await closeServer(server);
      await db.close({ timeoutMs: 3000 });
      await drop?.();
    });
    beforeEach(async () => {
      T = uniqueName('r9g');
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text)`);
    });

    for (const grace of [1, 0]) {
      it(`abortGraceMs ${grace}: the queued statement under way at the hang-up is waited for (it runs, then rolls back), the holder commits`, async () => {
        const name = `q${grace}`;
        const holder = request(server).post('/hold').send({ name: 'holder' });
        const held = holder.then((r) => r.status);
        await sleep(100);
        await hangUp(port, rawPost(`/one${grace}`, JSON.stringify({ name })), 100);
        expect(await held).to.equal(201);
        expect(await untilIdle(db, 5000)).to.be.at.least(0);
        await sleep(100);
        const rows = (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);
        console.log(`      [${driver}] abortGraceMs ${grace}: the queued statement ${outcome.get(name) ?? 'never settled'}; rows ${JSON.stringify(rows)}`);
        expect(rows).to.deep.equal(['holder']);
        expect(outcome.get(name), 'the statement under way at the hang-up').to.equal('ok');
      });
    }
  });
}
