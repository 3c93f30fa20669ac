/**
 * attack-r8b: hang-ups that transactional() / @Transactional never learn of, and statements that keep the
 * handler busy outside the request transaction.
 *
 * HTTP pipelining: a request queued behind another on the same socket has a ServerResponse with no socket
 * (node assigns it when the one ahead finishes). When the client hangs up, node destroys the queued `req`
 * but never emits 'close' on, nor destroys, that `res`: `res.destroyed` stays false for ever.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import express from 'express';
import type { Response } from 'express';
import { Body, JsonController, Post, Res, useExpressServer } from 'routing-controllers';
import { Database, Transactional, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

let db: Database;
let T: string;
const file = join(tmpdir(), `attack-r8b-${process.pid}.csv`);
writeFileSync(file, 'id,name\n'.repeat(4000));

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

@JsonController('/r8b')
class R8bController {
  @Post('/res')
  @Transactional(() => db)
  async withRes(@Body() body: { name: string }, @Res() res: Response) {
    await insert(body.name);
    await sleep(150);
    res.status(201).json({ ok: true });
    return res;
  }
}

function makeApp() {
  const app = express();
  app.set('env', 'test');
  // The request ahead in the pipeline: slow, no database.
  app.get('/slow', async (_req, res) => {
    await sleep(400);
    res.send('slow');
  });
  app.post('/items', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    await sleep(100);
    res.status(201).json({ ok: true });
  });
  app.post('/export', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    await sleep(150);
    res.sendFile(file);
  });
  // A long-poll: one statement, then waits 4 s before answering (no statement in between).
  app.post('/longpoll', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    await sleep(4000);
    res.status(201).json({ ok: true });
  });
  // Documented safe case (no pause between statements above 200 ms), but part of the work is an audit log
  // in its own transaction (requires_new) lasting ~1.5 s, during which the request transaction is idle.
  app.post('/audit', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    await db.transaction(
      async () => {
        for (let i = 0; i < 8; i++) {
          await db.query(`SELECT 1`);
          await sleep(200);
        }
      },
      { propagation: 'requires_new' },
    );
    await insert(`${req.body.name}#2`);
    res.status(201).json({ ok: true });
  });
  useExpressServer(app, { controllers: [R8bController], defaultErrorHandler: true });
  return app;
}

const pipelined = (second: string) => `GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${second}`;

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8b pipelined hang-ups and requires_new (Express 4, ${driver})`, function () {
    this.timeout(30_000);
    let port: number;
    hangUpSuite({ driver, prefix: 'r8b', makeApp: () => makeApp(), idleMs: 5000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => (port = l.port) });

    it('control: transactional() pipelined behind /slow, hang-up at 60 ms: nothing commits', async () => {
      const traps = trap();
      try {
        await hangUp(port, pipelined(rawPost('/items', JSON.stringify({ name: 'p-items' }))), 60);
        await sleep(600);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('@Transactional + @Res() pipelined behind /slow, hang-up at 60 ms: nothing commits for the client that hung up', async () => {
      const traps = trap();
      try {
        const r = await hangUp(port, pipelined(rawPost('/r8b/res', JSON.stringify({ name: 'p-res' }))), 60);
        await sleep(600);
        const committed = await names();
        console.log(`      [${driver}] pipelined @Res() hang-up at 60 ms (answered: ${r.answered}): committed ${JSON.stringify(committed)}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(committed, 'README: a client that disconnects rolls back').to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('transactional() + res.sendFile pipelined behind /slow, hang-up at 60 ms: the connection is back within 1.5 s', async () => {
      const traps = trap();
      try {
        await hangUp(port, pipelined(rawPost('/export', JSON.stringify({ name: 'p-export' }))), 60);
        const t0 = performance.now();
        await sleep(100);
        const idle = await untilIdle(db, 6000);
        const held = idle < 0 ? -1 : Math.round(performance.now() - t0);
        console.log(`      [${driver}] pipelined sendFile: connection held ${held < 0 ? '> 6000' : held} ms after the hang-up (stats ${JSON.stringify(db.primary.stats())})`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(held, 'ms the connection stayed held after the hang-up (-1: still held at 6 s)').to.be.within(0, 1500);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    for (const piped of [false, true]) {
      it(`${piped ? '' : 'control: '}/longpoll (one statement, then 4 s without any)${piped ? ' pipelined behind /slow' : ''}, hang-up at 60 ms: the connection is back within abortGraceMs + 500 ms`, async () => {
        const traps = trap();
        try {
          const post = rawPost('/longpoll', JSON.stringify({ name: 'lp' }));
          await hangUp(port, piped ? pipelined(post) : post, 60);
          const t0 = performance.now();
          const idle = await untilIdle(db, 6000);
          const held = idle < 0 ? -1 : Math.round(performance.now() - t0);
          console.log(`      [${driver}] /longpoll${piped ? ' pipelined' : ''}: connection held ${held} ms after the hang-up`);
          expect(traps.rejections.map(describeErr)).to.deep.equal([]);
          expect(held, 'ms held after the hang-up (-1: > 6 s)').to.be.within(0, 1500);
          await sleep(piped ? 0 : 3500);
          expect(await names()).to.deep.equal([]);
        } finally {
          traps.stop();
        }
      });
    }

    // PGlite has one connection: a requires_new transaction cannot run beside the request's (pg only).
    if (driver === 'pg') it('a handler that keeps working (a 1.6 s requires_new audit, pauses of 200 ms): a hang-up causes no unhandled rejection', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/audit', JSON.stringify({ name: 'audit' })), 50);
        await sleep(2500);
        const committed = await names();
        console.log(`      [${driver}] requires_new audit hang-up: rejections ${JSON.stringify(traps.rejections.map(describeErr))}, committed ${JSON.stringify(committed)}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(committed).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}
