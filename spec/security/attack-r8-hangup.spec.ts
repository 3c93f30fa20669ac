/**
 * attack-r8: a hostile client hangs up at every moment of a transactional() request (before the body, during
 * express.json(), between statements, at res.end(), with pipelining, many at once). The server must raise no
 * unhandled rejection or uncaught exception (Express 4 async handlers without try/catch), commit nothing for a
 * client that hung up before the handler ended its response, and give every connection back.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express5 = require('express5');

let db: Database;
let T: string;
const endAt = new Map<string, number>();

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

/** Ordinary user code: async handlers, no try/catch (as the README shows). */
function makeApp(express: any) {
  const app = express();
  app.set('env', 'test');
  app.use(transactional(db));
  app.use(express.json());
  app.post('/work', async (req: any, res: any) => {
    const name = req.body.name;
    if (req.body.delay) await sleep(req.body.delay);
    await insert(name);
    await sleep(20);
    await db.query(`SELECT count(*) FROM ${T}`);
    await sleep(20);
    await insert(`${name}#2`);
    endAt.set(name, performance.now());
    res.status(201).json({ ok: true });
  });
  // A query builder's transaction on db.pool (what Kysely does): BEGIN/COMMIT become a savepoint.
  app.post('/builder', async (req: any, res: any) => {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    await sleep(60);
    await client.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name}#2`]);
    await client.query('COMMIT');
    client.release();
    endAt.set(req.body.name, performance.now());
    res.status(201).json({ ok: true });
  });
  app.post('/items', async (req: any, res: any) => {
    await insert(req.body.name);
    res.status(201).json({ ok: true });
  });
  return app;
}

/**
 * Names whose client hung up before the handler ended its response, yet committed. A hang-up the server
 * has not seen yet when the handler ends (the FIN still queued behind event-loop lag) cannot stop a COMMIT:
 * only a hang-up at least RACE_MS before res.end() counts.
 */
const RACE_MS = 50;
async function violations(hung: Map<string, number | undefined>): Promise<string[]> {
  const committed = new Set((await names()).map((n) => n.replace(/#2$/, '')));
  const bad: string[] = [];
  for (const [name, at] of hung) {
    if (!committed.has(name) || at === undefined) continue;
    const ended = endAt.get(name);
    if (ended === undefined || at < ended - RACE_MS) bad.push(`${name} (hung up ${ended === undefined ? 'before any end' : `${(ended - at).toFixed(1)} ms before res.end`})`);
  }
  return bad;
}

const body = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ name, ...extra });

for (const [fw, expressLib] of [['Express 4', express4], ['Express 5', express5]] as const) {
  for (const driver of ['pg', 'PGlite'] as const) {
    describe(`attack-r8 hang-ups on transactional() (${fw}, ${driver})`, function () {
      this.timeout(60_000);
      let server: any;
      let port: number;
      hangUpSuite({ driver, prefix: 'r8', makeApp: () => makeApp(expressLib), idleMs: 12_000, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });
      beforeEach(() => endAt.clear());

      it('hang-ups at every moment (partial request line, headers only, partial JSON, 0-90 ms after the body): no rejection, no commit, connections back', async () => {
        const traps = trap();
        const hung = new Map<string, number | undefined>();
        try {
          await hangUp(port, 'POST /work HTTP/1.1\r\nHo', 20);
          await hangUp(port, rawPost('/work', '', 40), 30);
          const partial = body('partial');
          hung.set('partial', (await hangUp(port, rawPost('/work', partial.slice(0, 9), partial.length), 30)).hungUpAt);
          const slowBody = body('slowbody');
          hung.set('slowbody', (await hangUp(port, [rawPost('/work', slowBody.slice(0, 5), slowBody.length), 30, slowBody.slice(5, 12)], 10)).hungUpAt);
          const delays = [0, 1, 2, 3, 5, 8, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 90];
          for (const d of delays) {
            const name = `d${d}`;
            const r = await hangUp(port, rawPost('/work', body(name)), d);
            hung.set(name, r.answered ? undefined : r.hungUpAt);
          }
          // Builder transaction (db.pool BEGIN/COMMIT) hung up between its statements.
          for (const d of [5, 30, 50]) {
            const name = `b${d}`;
            const r = await hangUp(port, rawPost('/builder', body(name)), d);
            hung.set(name, r.answered ? undefined : r.hungUpAt);
          }
          const idleMs = await untilIdle(db, 5000);
          await sleep(200);
          const bad = await violations(hung);
          const ok = await request(server).post('/items').send({ name: 'after' });
          expect(traps.rejections.map(describeErr), 'unhandled rejections').to.deep.equal([]);
          expect(traps.exceptions.map(describeErr), 'uncaught exceptions').to.deep.equal([]);
          expect(bad, 'committed although the client hung up before res.end').to.deep.equal([]);
          expect(idleMs, 'ms until every connection is back').to.be.within(0, 5000);
          // The sweep reached the handlers: some ran to res.end() after their client had gone.
          expect([...hung.keys()].filter((n) => endAt.has(n)).length, 'hung-up requests whose handler ran to res.end()').to.be.above(5);
          expect(ok.status).to.equal(201);
        } finally {
          traps.stop();
        }
      });

      it('HTTP pipelining: two requests on one socket, hang-up before either answer and right at the first answer: no rejection, the unanswered one never commits', async () => {
        const traps = trap();
        const hung = new Map<string, number | undefined>();
        try {
          // Both unanswered.
          const r1 = await hangUp(port, rawPost('/work', body('p1')) + rawPost('/work', body('p2')), 25);
          hung.set('p1', r1.hungUpAt);
          hung.set('p2', r1.hungUpAt);
          // The first answered, the second (slower) cut off when the first answer's first byte arrives.
          const r2 = await hangUp(port, rawPost('/work', body('q1')) + rawPost('/work', body('q2', { delay: 150 })), -1, { onFirstByte: true });
          hung.set('q2', r2.hungUpAt);
          // Many pipelined, cut off at the first answer.
          const many = Array.from({ length: 8 }, (_, i) => rawPost('/work', body(`m${i}`, { delay: 40 + i * 15 }))).join('');
          const r3 = await hangUp(port, many, -1, { onFirstByte: true });
          for (let i = 1; i < 8; i++) hung.set(`m${i}`, r3.hungUpAt);
          const idleMs = await untilIdle(db, 5000);
          await sleep(300);
          const bad = await violations(hung);
          expect(traps.rejections.map(describeErr), 'unhandled rejections').to.deep.equal([]);
          expect(traps.exceptions.map(describeErr), 'uncaught exceptions').to.deep.equal([]);
          expect(r2.answered, 'the first pipelined request was answered').to.equal(true);
          expect(bad, 'committed although the client hung up before res.end').to.deep.equal([]);
          expect(idleMs).to.be.within(0, 5000);
        } finally {
          traps.stop();
        }
      });

      it('many concurrent hang-ups: no rejection, no commit, the pool comes back, a well-behaved client is served', async () => {
        const traps = trap();
        const hung = new Map<string, number | undefined>();
        const n = driver === 'pg' ? 40 : 12;
        try {
          const results = await Promise.all(
            Array.from({ length: n }, async (_, i) => {
              const name = `c${i}`;
              const r = await hangUp(port, rawPost('/work', body(name)), (i * 37) % 120);
              hung.set(name, r.answered ? undefined : r.hungUpAt);
              return r;
            }),
          );
          const t0 = performance.now();
          const ok = await request(server).post('/items').send({ name: 'well-behaved' });
          const okMs = performance.now() - t0;
          const idleMs = await untilIdle(db, 8000);
          await sleep(200);
          const bad = await violations(hung);
          console.log(`      [${fw}/${driver}] ${n} hang-ups (${results.filter((r) => r.answered).length} answered first); well-behaved ${ok.status} in ${okMs.toFixed(0)} ms; pool idle after ${idleMs} ms`);
          expect(traps.rejections.map(describeErr), 'unhandled rejections').to.deep.equal([]);
          expect(traps.exceptions.map(describeErr), 'uncaught exceptions').to.deep.equal([]);
          expect(bad, 'committed although the client hung up before res.end').to.deep.equal([]);
          expect(ok.status).to.equal(201);
          expect(idleMs).to.be.within(0, 8000);
        } finally {
          traps.stop();
        }
      });
    });
  }
}
