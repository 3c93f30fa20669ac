/**
 * attack-r8b: the idle clock of abortGraceMs. A savepoint (a db.pool client's BEGIN, as Kysely's
 * transaction() sends, or a `nested` scope) is a statement the handler sends in the transaction, but it
 * neither counts as under way nor restarts the idle clock. A handler whose pauses are all shorter than
 * abortGraceMs (the documented safe case) then has its transaction rolled back under it after a hang-up.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import express from 'express';
import { Kysely, PostgresDialect, sql } from 'kysely';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

let db: Database;
let T: string;
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

function makeApp() {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  // pg client API on db.pool (what Kysely's transaction() does): pauses of 600 ms, all < abortGraceMs.
  app.post('/pool-tx', transactional(db), async (req, res) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await sleep(600);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await sleep(600);
      await client.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name}#2`]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    res.status(201).json({ ok: true });
  });
  // The same with Kysely on db.pool.
  const k = new Kysely<any>({ dialect: new PostgresDialect({ pool: db.pool as any }) });
  app.post('/kysely', transactional(db), async (req, res) => {
    await sql`INSERT INTO ${sql.table(T)} (name) VALUES (${req.body.name})`.execute(k);
    await sleep(600);
    await k.transaction().execute(async (trx) => {
      await sleep(600);
      await sql`INSERT INTO ${sql.table(T)} (name) VALUES (${`${req.body.name}#2`})`.execute(trx);
    });
    res.status(201).json({ ok: true });
  });
  // The same with a nested scope.
  app.post('/nested', transactional(db), async (req, res) => {
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await sleep(600);
    await db.transaction(
      async () => {
        await sleep(600);
        await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name}#2`]);
      },
      { propagation: 'nested' },
    );
    res.status(201).json({ ok: true });
  });
  // A poller: a statement every 900 ms, 4 times (3.6 s), as long for a client that hung up as for one that waits.
  app.post('/poll', transactional(db), async (req, res) => {
    for (let i = 0; i < 4; i++) {
      await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name}${i}`]);
      await sleep(900);
    }
    res.status(201).json({ ok: true });
  });
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8b idle clock of abortGraceMs (Express 4, ${driver})`, function () {
    this.timeout(30_000);
    let server: any;
    let port: number;
    hangUpSuite({ driver, prefix: 'r8bg', makeApp: () => makeApp(), idleMs: 8000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    for (const path of ['/pool-tx', '/kysely', '/nested']) {
      it(`control: ${path} answers 201 and commits both rows for a client that waits`, async () => {
        const res = await request(server).post(path).send({ name: 'w' });
        expect(res.status).to.equal(201);
        expect(await names()).to.deep.equal(['w', 'w#2']);
      });
      it(`${path}: pauses of 600 ms around a savepoint, hang-up at 50 ms: no unhandled rejection, nothing commits`, async () => {
        const traps = trap();
        try {
          await hangUp(port, rawPost(path, JSON.stringify({ name: path })), 50);
          await sleep(2000);
          const committed = await names();
          console.log(`      [${driver}] ${path}: rejections ${JSON.stringify(traps.rejections.map(describeErr))}, committed ${JSON.stringify(committed)}`);
          expect(traps.rejections.map(describeErr)).to.deep.equal([]);
          expect(committed).to.deep.equal([]);
        } finally {
          traps.stop();
        }
      });
    }

    it('/poll (a statement every 900 ms for 3.6 s), hang-up at 50 ms: held no longer than for a client that waits, nothing commits', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/poll', JSON.stringify({ name: 'poll' })), 50);
        const t0 = performance.now();
        await sleep(100);
        const idle = await untilIdle(db, 8000);
        const held = idle < 0 ? -1 : Math.round(performance.now() - t0);
        console.log(`      [${driver}] /poll: connection held ${held} ms after the hang-up (handler runs ~3.6 s)`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(held).to.be.within(0, 4500);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}
