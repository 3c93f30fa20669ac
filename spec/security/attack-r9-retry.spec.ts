/**
 * attack-r9: `@Transactional` + `@Res()` (routing-controllers, Express 4) whose action hits serialization
 * failures (SQLSTATE 40001, forced with RAISE … USING ERRCODE, or a real SERIALIZABLE conflict), with the client
 * hanging up before, during and between the retries. Attempts are counted with a sequence (nextval is not
 * rolled back). Nothing may commit for a client that left; the retries must stop once it has left (every
 * further attempt is thrown away: README "a client that hung up before COMMIT gets nothing committed");
 * connections come back; no unhandled rejection.
 *
 * Found by this round (fixed in src/db/transactional.ts): an action failing with 40001 whose client left during
 * attempt 1 was still run all 10 attempts (~3 s, a connection each), every one of them certain to roll back;
 * now no attempt starts after the hang-up.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import express from 'express';
import type { Response } from 'express';
import { Body, JsonController, Post, Res, useExpressServer } from 'routing-controllers';
import request from 'supertest';
import { Database, Transactional } from '../../src';
import { adminQuery } from '../db/support';
import { describeErr, hangUp, hangUpSuite, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

let db: Database;
let dbName: string;
let T: string;

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);
const attempts = async () => Number((await db.query<{ n: string }>(`SELECT last_value - 1 + (CASE WHEN is_called THEN 1 ELSE 0 END) AS n FROM ${T}_attempts`)).rows[0].n);
const raise40001 = () => db.query(`DO $$ BEGIN RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = '40001'; END $$`);

@JsonController('/r9')
class R9RetryController {
  /** Fails with 40001 on every attempt whose number is ≤ failUntil (0: never), after `pauseMs`. */
  @Post('/flaky')
  @Transactional(() => db)
  async flaky(@Body() body: { name: string; failUntil: number; pauseMs: number }, @Res() res: Response) {
    const { rows } = await db.query<{ n: string }>(`SELECT nextval('${T}_attempts') AS n`);
    const attempt = Number(rows[0].n);
    await insert(`${body.name}@${attempt}`);
    await sleep(body.pauseMs);
    if (attempt <= body.failUntil) await raise40001();
    res.status(201).json({ attempt });
    return res;
  }

  /** SERIALIZABLE read-modify-write of one counter row: concurrent calls conflict for real. */
  @Post('/bump')
  @Transactional(() => db, { isolation: 'serializable' })
  async bump(@Body() body: { pauseMs: number }, @Res() res: Response) {
    await db.query(`SELECT nextval('${T}_attempts')`);
    const { rows } = await db.query<{ v: number }>(`SELECT v FROM ${T}_counter WHERE id = 1`);
    await sleep(body.pauseMs);
    await db.query(`UPDATE ${T}_counter SET v = $1 WHERE id = 1`, [rows[0].v + 1]);
    res.status(201).json({ v: rows[0].v + 1 });
    return res;
  }
}

function makeApp() {
  const app = express();
  app.set('env', 'test');
  useExpressServer(app, { controllers: [R9RetryController], defaultErrorHandler: true });
  return app;
}

const post = (name: string, failUntil: number, pauseMs: number) => rawPost('/r9/flaky', JSON.stringify({ name, failUntil, pauseMs }));

describe('attack-r9 @Transactional + @Res() retried on 40001 after a hang-up (pg, Express 4, routing-controllers)', function () {
  this.timeout(60_000);
  let server: any;
  let port: number;
  hangUpSuite({ driver: 'pg', prefix: 'r9r', makeApp: () => makeApp() as any, idleMs: 8000, dbOptions: { maxConnections: 4 }, onDb: (d, name) => ((db = d), (dbName = name!)), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });
  beforeEach(async () => {
    // Beside the suite's (id, name) table: a counter and a sequence counting attempts.
    await db.query(`CREATE TABLE ${T}_counter (id int PRIMARY KEY, v int NOT NULL)`);
    await db.query(`INSERT INTO ${T}_counter VALUES (1, 0)`);
    await db.query(`CREATE SEQUENCE ${T}_attempts`);
  });
  afterEach(async () => {
    expect(await untilIdle(db, 8000), 'pool idle after the test').to.be.at.least(0);
    const busy = await adminQuery(`SELECT state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'`, [dbName]);
    expect(busy).to.deep.equal([]);
  });

  it('control: a client that waits gets 201 from the 3rd attempt and only that attempt commits', async () => {
    const res = await request(server).post('/r9/flaky').send({ name: 'w', failUntil: 2, pauseMs: 20 });
    expect(res.status).to.equal(201);
    expect(res.body).to.deep.equal({ attempt: 3 });
    expect(await names()).to.deep.equal(['w@3']);
  });

  it('hang-up during attempt 1 of an action that succeeds at attempt 3: nothing commits, no rejection', async () => {
    const traps = trap();
    try {
      await hangUp(port, post('g', 2, 150), 50);
      await sleep(1500);
      const rows = await names();
      console.log(`      attempts ${await attempts()}, committed ${JSON.stringify(rows)}`);
      expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      expect(rows).to.deep.equal([]);
    } finally {
      traps.stop();
    }
  });

  it('hang-up during attempt 1 of an action that always fails with 40001 (150 ms per attempt, default retry of 10): no attempt starts more than one backoff after the hang-up', async () => {
    const traps = trap();
    try {
      const r = await hangUp(port, post('storm', 99, 150), 50);
      const hungUpAt = r.hungUpAt!;
      const atHangUp = await attempts();
      await sleep(3000);
      const total = await attempts();
      console.log(`      attempts at the hang-up ${atHangUp}, 3 s later ${total} (${Math.round(performance.now() - hungUpAt)} ms after the hang-up); rejections ${traps.rejections.length}`);
      expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      expect(await names()).to.deep.equal([]);
      expect(total, 'attempts run for a client that had left during attempt 1').to.be.at.most(2);
    } finally {
      traps.stop();
    }
  });

  it('hang-ups swept over the retries (at 10-400 ms, 20 ms attempts, the first 48 attempts overall failing): nothing commits for a client that left unanswered, no rejection, pool idle', async () => {
    const traps = trap();
    try {
      const gone = await Promise.all(Array.from({ length: 12 }, (_, i) => hangUp(port, post(`s${i}`, 48, 20), 10 + i * 35)));
      await sleep(2500);
      const rows = await names();
      // A client whose answer (201) arrived before it hung up may have its row: it saw the answer.
      const unanswered = gone.map((g, i) => (g.answered ? '' : `s${i}@`)).filter(Boolean);
      const leaked = rows.filter((r) => unanswered.some((p) => r.startsWith(p)));
      console.log(`      12 sweeping hang-ups: attempts ${await attempts()}, answered first ${12 - unanswered.length}, committed ${JSON.stringify(rows)}`);
      expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
      expect(leaked, 'committed for clients that hung up unanswered').to.deep.equal([]);
    } finally {
      traps.stop();
    }
  });

  it('a real SERIALIZABLE conflict: 6 concurrent bumps, 3 of them hang up at 120 ms; the 3 that wait get 201 and the counter ends at exactly 3', async () => {
    const traps = trap();
    try {
      const live = Array.from({ length: 3 }, () => request(server).post('/r9/bump').send({ pauseMs: 100 }).then((r) => r.status));
      const gone = Array.from({ length: 3 }, () => hangUp(port, rawPost('/r9/bump', JSON.stringify({ pauseMs: 100 })), 120));
      const statuses = await Promise.all(live);
      await Promise.all(gone);
      await sleep(1500);
      const v = (await db.query<{ v: number }>(`SELECT v FROM ${T}_counter`)).rows[0].v;
      console.log(`      live ${statuses}, counter ${v}, attempts ${await attempts()}`);
      expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      expect(statuses).to.deep.equal([201, 201, 201]);
      expect(v).to.equal(3);
    } finally {
      traps.stop();
    }
  });
});
