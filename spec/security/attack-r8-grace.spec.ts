/**
 * attack-r8: after a hang-up, a handler that keeps using its transaction (no pause between statements
 * longer than abortGraceMs, 1 s by default) finishes without a rejection: under Express 4 an async
 * handler without try/catch would otherwise raise an unhandled rejection, which ends a Node process. A
 * handler that pauses longer is not waited for (its connection goes back): its next statement fails with
 * TransactionAbortedError, which the handler must catch under Express 4, as any database error.
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { createTestDatabase } from '../db/support';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, startChildServer, type ChildServer } from './attack-r8-helpers';

let db: Database;
let T: string;
const caught: string[] = [];

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

function makeApp() {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  // A handler that pauses 600 ms between statements (an external call): within the default grace.
  app.post('/slow', transactional(db), async (req, res) => {
    await insert(req.body.name);
    await sleep(600);
    await insert(`${req.body.name}#2`);
    res.status(201).json({ ok: true });
  });
  // The same pause with abortGraceMs 300: the handler is not waited for; it catches, as the README says.
  app.post('/too-slow', transactional(db, { abortGraceMs: 300 }), async (req, res, next) => {
    try {
      await insert(req.body.name);
      await sleep(600);
      await insert(`${req.body.name}#2`);
      res.status(201).json({ ok: true });
    } catch (err) {
      caught.push(describeErr(err));
      next(err);
    }
  });
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8 handler slower than abortGraceMs (Express 4, ${driver})`, function () {
    this.timeout(40_000);
    let server: any;
    let port: number;
    hangUpSuite({ driver, prefix: 'r8g', makeApp: () => makeApp(), idleMs: 5000, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    it('the same handler answers 201 for a client that waits (control)', async () => {
      await request(server).post('/slow').send({ name: 'waited' }).expect(201);
      expect(await names()).to.deep.equal(['waited', 'waited#2']);
    });

    it('default abortGraceMs, a handler pausing 600 ms between statements: a client that hangs up at 50 ms causes no unhandled rejection, nothing commits', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/slow', JSON.stringify({ name: 'gone' })), 50);
        await sleep(1200);
        expect(traps.rejections.map(describeErr), 'unhandled rejections caused by a hang-up').to.deep.equal([]);
        expect(await names(), 'rolled back').to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('abortGraceMs 300, a handler pausing 600 ms: not waited for, its next statement fails with TransactionAbortedError (caught), the connection is back before that', async () => {
      const traps = trap();
      caught.length = 0;
      try {
        await hangUp(port, rawPost('/too-slow', JSON.stringify({ name: 'gone' })), 50);
        await sleep(450);
        const stats = db.primary.stats();
        expect(stats.idleCount, 'given back after 300 ms without a statement').to.equal(stats.totalCount);
        await sleep(500);
        expect(caught).to.have.length(1);
        expect(caught[0]).to.match(/TransactionAbortedError/);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(await names(), 'rolled back').to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}

describe('attack-r8 a real Express 4 process (no mocha) and hang-ups on a handler that pauses within abortGraceMs', function () {
  this.timeout(30_000);

  it('the server process survives the hang-ups', async () => {
    const pg = await createTestDatabase();
    let server: ChildServer | undefined;
    try {
      server = await startChildServer('attack-r8-exit-child.ts', [pg.url, '1000', '300']);
      const { port, exited } = server;
      await Promise.all([10, 50, 150, 400].map((ms) => hangUp(port, rawPost('/slow', JSON.stringify({ name: 'x' })), ms)));
      const code = await Promise.race([exited, sleep(2000).then(() => 'alive' as const)]);
      expect(code, `the server process after clients hung up: ${server.stderr().slice(0, 300)}`).to.equal('alive');
    } finally {
      await server?.stop();
      await pg.drop();
    }
  });
});
