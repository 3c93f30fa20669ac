/**
 * attack-r9: hang-ups while the pool is exhausted. A pool of 2, filled by slow transactional() requests; more
 * requests queue for a connection and their clients hang up while they wait, just as a connection is handed
 * over, or during BEGIN. The server must raise no unhandled rejection, commit nothing for them, give every
 * connection back, keep serving, and leak no backend over many rounds (pg_stat_activity).
 *
 * Found by this round and decided (README, "Commit before the response"): a request whose client left while
 * its first statement still waited for a connection keeps its place in the queue, and its handler then runs
 * as for a client that waited, up to its first pause longer than abortGraceMs (the wait counts as a statement
 * under way: failing it would crash an Express 4 handler that does not catch). So ten such requests whose
 * handlers pause 900 ms under the default grace (1000 ms) hold a pool of 2 for about 4.5 s, and a live client
 * behind them gets a clean 503 (DbUnavailableError, after acquireTimeoutMs) — no crash, nothing committed.
 * A grace shorter than the handler's pauses (abortGraceMs 0 here) serves the same live client in ~900 ms.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { adminQuery, createTestDatabase } from '../db/support';
import { closeServer, describeErr, hangUp, hangUpSuite, listen, rawPost, sleep, trap, untilIdle, startChildServer, type ChildServer } from './attack-r8-helpers';

let db: Database;
let dbName: string;
let T: string;

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);
const backends = async () =>
  adminQuery<{ state: string; n: number }>(`SELECT coalesce(state, '?') AS state, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1`, [dbName]);

function makeApp(graceMs: number | undefined) {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  const tx = transactional(db, graceMs === undefined ? {} : { abortGraceMs: graceMs });
  // Holds its connection `hold` ms between two statements (README style, with try/catch).
  app.post('/slow', tx, async (req, res, next) => {
    try {
      await insert(req.body.name);
      await sleep(req.body.hold ?? 800);
      await insert(`${req.body.name}#2`);
      res.status(201).json({ ok: true });
    } catch (err) {
      next(err);
    }
  });
  app.post('/items', tx, async (req, res, next) => {
    try {
      await insert(req.body.name);
      res.status(201).json({ ok: true });
    } catch (err) {
      next(err);
    }
  });
  return app;
}

for (const grace of [undefined, 0] as const) {
  describe(`attack-r9 hang-ups on an exhausted pool (pg, maxConnections 2, abortGraceMs ${grace ?? 'default'})`, function () {
    this.timeout(90_000);
    let server: any;
    let port: number;
    hangUpSuite({ driver: 'pg', prefix: 'r9p', makeApp: () => makeApp(grace) as any, idleMs: 15_000, dropTable: false, dbOptions: { maxConnections: 2 }, onDb: (d, name) => ((db = d), (dbName = name!)), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    it('clients queued for a connection hang up while waiting: no rejection, none of theirs commits, the live ones commit, pool idle, no backend leaked', async () => {
      const traps = trap();
      try {
        const live = [0, 1].map((i) => request(server).post('/slow').send({ name: `live${i}`, hold: 800 }));
        const liveDone = Promise.all(live.map((r) => r.then((x) => x.status)));
        await sleep(150);
        const gone = await Promise.all(Array.from({ length: 6 }, (_, i) => hangUp(port, rawPost('/slow', JSON.stringify({ name: `gone${i}`, hold: 300 })), 50 + i * 20)));
        const statuses = await liveDone;
        const after = await request(server).post('/items').send({ name: 'after' }).timeout(10_000);
        const idle = await untilIdle(db, 8000);
        const rows = await names();
        const be = await backends();
        console.log(`      live ${statuses}, after ${after.status}, answered-before-hangup ${gone.filter((g) => g.answered).length}, idle in ${idle} ms, rows ${JSON.stringify(rows)}, backends ${JSON.stringify(be)}, stats ${JSON.stringify(db.primary.stats())}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
        expect(statuses).to.deep.equal([201, 201]);
        expect(after.status).to.equal(201);
        expect(rows.filter((n) => n.startsWith('gone'))).to.deep.equal([]);
        expect(idle).to.be.at.least(0);
        expect(be.filter((b) => b.state !== 'idle')).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('hang-ups swept across the hand-over (a live holder releases at ~400 ms; hang-ups at 330-470 ms), 5 rounds: no rejection, nothing of theirs commits, at most 2 backends, all idle', async () => {
      const traps = trap();
      try {
        for (let round = 0; round < 5; round++) {
          const live = [0, 1].map((i) => request(server).post('/slow').send({ name: `live${round}-${i}`, hold: 400 }));
          const liveDone = Promise.all(live.map((r) => r.then((x) => x.status)));
          await sleep(20);
          const gone = Array.from({ length: 8 }, (_, i) => hangUp(port, rawPost('/slow', JSON.stringify({ name: `gone${round}-${i}`, hold: 100 })), 310 + i * 20));
          await Promise.all(gone);
          expect(await liveDone).to.deep.equal([201, 201]);
        }
        const idle = await untilIdle(db, 10_000);
        const t0 = performance.now();
        const after = await request(server).post('/items').send({ name: 'after' }).timeout(10_000);
        const ms = Math.round(performance.now() - t0);
        const rows = await names();
        const be = await backends();
        console.log(`      idle in ${idle} ms, after ${after.status} in ${ms} ms, live rows ${rows.filter((n) => n.startsWith('live')).length}, gone rows ${rows.filter((n) => n.startsWith('gone')).length}, backends ${JSON.stringify(be)}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
        expect(after.status).to.equal(201);
        expect(rows.filter((n) => n.startsWith('gone'))).to.deep.equal([]);
        expect(rows.filter((n) => n.startsWith('live')).length).to.equal(20);
        expect(idle).to.be.at.least(0);
        expect(be.reduce((a, b) => a + b.n, 0)).to.be.at.most(2);
        expect(be.filter((b) => b.state !== 'idle')).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it(`a live client queued behind 10 clients that hung up while waiting: ${grace === 0 ? 'served (each hung-up handler is cut at its first pause)' : '201, or a clean 503 DbUnavailableError when their handlers (pausing under the grace) fill acquireTimeoutMs'}; no rejection, nothing of theirs commits`, async () => {
      const traps = trap();
      try {
        const live = [0, 1].map((i) => request(server).post('/slow').send({ name: `live${i}`, hold: 1000 }));
        const liveDone = Promise.all(live.map((r) => r.then((x) => x.status)));
        await sleep(100);
        await Promise.all(Array.from({ length: 10 }, (_, i) => hangUp(port, rawPost('/slow', JSON.stringify({ name: `gone${i}`, hold: 900 })), 60)));
        const t0 = performance.now();
        const after = await request(server).post('/items').send({ name: 'after' }).timeout(15_000);
        const ms = Math.round(performance.now() - t0);
        await liveDone;
        const idle = await untilIdle(db, 15_000);
        const rows = await names();
        console.log(`      live client behind 10 hung-up waiters: ${after.status} ${after.body?.code ?? ''} after ${ms} ms; idle ${idle} ms later; rows ${JSON.stringify(rows)}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(rows.filter((n) => n.startsWith('gone'))).to.deep.equal([]);
        if (grace === 0) expect(after.status, `the live client (answered after ${ms} ms)`).to.equal(201);
        // The app has no error handler of ours: Express answers DbUnavailableError with its status, 503.
        else if (after.status !== 201) expect(after.status, `the live client (answered after ${ms} ms)`).to.equal(503);
        expect(idle).to.be.at.least(0);
      } finally {
        traps.stop();
      }
    });
  });
}

describe('attack-r9 a real Express 4 process on a pool of 2, handlers without try/catch, clients hanging up while queued', function () {
  this.timeout(40_000);

  it('survives 3 rounds of 2 slow live requests + 6 queued hang-ups (at 30-130 ms) and still answers', async () => {
    const pg = await createTestDatabase();
    let server: ChildServer | undefined;
    try {
      server = await startChildServer('attack-r9-pool-child.ts', [pg.url, '2']);
      const { port, exited } = server;
      const url = `http://127.0.0.1:${port}`;
      for (let round = 0; round < 3; round++) {
        const live = [0, 1].map(() => request(url).post('/slow').send({ name: 'live', hold: 600 }).then((r) => r.status, () => -1));
        await sleep(20);
        await Promise.all(Array.from({ length: 6 }, (_, i) => hangUp(port, rawPost('/slow', JSON.stringify({ name: `g${i}`, hold: 200 })), 30 + i * 20)));
        expect(await Promise.all(live)).to.deep.equal([201, 201]);
      }
      const code = await Promise.race([exited, sleep(2500).then(() => 'alive' as const)]);
      expect(code, `the server process: ${server.stderr().slice(0, 300)}`).to.equal('alive');
      const last = await request(url).post('/slow').send({ name: 'last', hold: 0 }).timeout(5000);
      expect(last.status).to.equal(201);
      const be = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state <> 'idle'`, [pg.name]);
      expect(be[0].n, 'backends not idle').to.equal(0);
    } finally {
      await server?.stop();
      await pg.drop();
    }
  });
});

describe('attack-r9 hang-ups of clients whose wait for a connection times out (pg, maxConnections 2, acquireTimeoutMs 300)', function () {
  this.timeout(40_000);

  it('6 rounds of 2 live holders + 8 queued hang-ups at 250-355 ms: the waiters get DbUnavailableError (caught), no rejection, no late connection kept, 2 idle backends, only live rows', async () => {
    const pg = await createTestDatabase();
    const small = new Database({ primary: pg.url, maxConnections: 2, acquireTimeoutMs: 300 });
    await small.query('CREATE TABLE t (id serial PRIMARY KEY, name text)');
    const app = express();
    app.set('env', 'test');
    app.use(express.json());
    const outcomes: Record<string, number> = {};
    app.post('/slow', transactional(small), async (req, res, next) => {
      try {
        await small.query('INSERT INTO t (name) VALUES ($1)', [req.body.name]);
        await sleep(req.body.hold);
        await small.query('INSERT INTO t (name) VALUES ($1)', [`${req.body.name}#2`]);
        res.status(201).json({});
      } catch (err) {
        const key = (err as Error).name;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        next(err);
      }
    });
    const { server, port } = await listen(app);
    const traps = trap();
    try {
      for (let round = 0; round < 6; round++) {
        const live = [0, 1].map(() => request(server).post('/slow').send({ name: 'live', hold: 350 }).then((r) => r.status));
        await sleep(10);
        await Promise.all(Array.from({ length: 8 }, (_, i) => hangUp(port, rawPost('/slow', JSON.stringify({ name: `g${i}`, hold: 50 })), 250 + i * 15)));
        expect(await Promise.all(live)).to.deep.equal([201, 201]);
      }
      const idle = await untilIdle(small, 5000);
      const be = await adminQuery<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 GROUP BY 1`, [pg.name]);
      const rows = (await small.query<{ name: string }>(`SELECT DISTINCT name FROM t ORDER BY 1`)).rows.map((r) => r.name);
      console.log(`      outcomes ${JSON.stringify(outcomes)}, idle ${idle} ms, backends ${JSON.stringify(be)}, rows ${JSON.stringify(rows)}`);
      expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      expect(idle).to.be.at.least(0);
      expect(be).to.deep.equal([{ state: 'idle', n: 2 }]);
      expect(rows).to.deep.equal(['live', 'live#2']);
    } finally {
      traps.stop();
      await closeServer(server);
      await small.close({ timeoutMs: 2000 });
      await pg.drop();
    }
  });
});
