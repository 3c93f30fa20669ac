/**
 * attack-r8: a client that hangs up must not get work committed (README: "A client that disconnects rolls
 * back"), nor may another request see or join the transaction that finishes during the grace. Nested
 * transactional() and @Transactional (routing-controllers) with @Res() under hang-ups.
 */
import { expect } from 'chai';
import express from 'express';
import type { Response } from 'express';
import { Body, JsonController, Post, Res, useExpressServer } from 'routing-controllers';
import request from 'supertest';
import { Database, Transactional, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

let db: Database;
let T: string;

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

@JsonController('/r8')
class R8Controller {
  @Post('/res')
  @Transactional(() => db)
  async withRes(@Body() body: { name: string }, @Res() res: Response) {
    await insert(body.name);
    await sleep(150);
    await insert(`${body.name}#2`);
    res.status(201).json({ ok: true });
    return res;
  }

  @Post('/in-res')
  @Transactional(() => db)
  async inRes(@Body() body: { name: string }, @Res() res: Response) {
    await insert(body.name);
    await sleep(150);
    await insert(`${body.name}#2`);
    res.status(201).json({ ok: true });
    return res;
  }

  @Post('/plain')
  @Transactional(() => db)
  async plain(@Body() body: { name: string }) {
    await insert(body.name);
    await sleep(150);
    return { ok: true };
  }
}

function makeApp() {
  const app = express();
  app.set('env', 'test');
  // Nested: app-wide transactional() (default grace) and a route-level one with a short grace.
  app.post('/nested', transactional(db), transactional(db, { abortGraceMs: 200 }), express.json(), async (req, res) => {
    await insert(req.body.name);
    await sleep(500);
    await insert(`${req.body.name}#2`);
    res.status(201).json({ ok: true });
  });
  app.post('/ghost', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    await sleep(300);
    await db.query(`SELECT count(*) FROM ${T}`);
    res.status(201).json({ ok: true });
  });
  app.post('/fast', transactional(db), express.json(), async (req, res) => {
    await insert(req.body.name);
    res.status(201).json({ ok: true });
  });
  app.get('/peek', transactional(db), async (_req, res) => {
    const rows = (await db.query<{ name: string }>(`SELECT name FROM ${T}`)).rows.map((r) => r.name);
    res.json({ rows, inTransaction: db.inTransaction() });
  });
  // @Transactional + @Res() inside transactional().
  const outer = transactional(db);
  app.use((req, res, next) => (req.path === '/r8/in-res' ? outer(req, res, next) : next()));
  useExpressServer(app, { controllers: [R8Controller], defaultErrorHandler: true });
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8 what a hung-up client gets committed (Express 4, ${driver})`, function () {
    this.timeout(30_000);
    let server: any;
    let port: number;
    hangUpSuite({ driver, prefix: 'r8c', makeApp: () => makeApp(), idleMs: 5000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    it('nested transactional() (outer default grace, inner 200 ms) and a 500 ms handler: no rejection, nothing committed, connection back', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/nested', JSON.stringify({ name: 'nested' })), 50);
        await sleep(900);
        const idle = await untilIdle(db, 3000);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(await names()).to.deep.equal([]);
        expect(idle).to.be.within(0, 3000);
      } finally {
        traps.stop();
      }
    });

    it('a request during another\'s grace neither sees its rows nor joins its transaction', async () => {
      const traps = trap();
      try {
        const gone = hangUp(port, rawPost('/ghost', JSON.stringify({ name: 'ghost' })), 30);
        await sleep(80);
        const peek = await request(server).get('/peek');
        await gone;
        await sleep(400);
        expect(peek.status).to.equal(200);
        expect(peek.body).to.deep.equal({ rows: [], inTransaction: true });
        expect(await names()).to.deep.equal([]);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    if (driver === 'pg') {
      it('a hang-up during a slow COMMIT (a deferred trigger sleeping 300 ms): no rejection, no crash, the server still serves (what commits is reported)', async () => {
        const traps = trap();
        try {
          await db.query(`CREATE FUNCTION ${T}_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$`);
          await db.query(`CREATE CONSTRAINT TRIGGER ${T}_slow AFTER INSERT ON ${T} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${T}_slow()`);
          const r = await hangUp(port, rawPost('/fast', JSON.stringify({ name: 'in-commit' })), 100);
          await sleep(500);
          const committed = await names();
          console.log(`      [${driver}] hang-up 100 ms into a 300 ms COMMIT (answered first: ${r.answered}): committed ${JSON.stringify(committed)} (the COMMIT was already sent: inherent)`);
          const ok = await request(server).get('/peek');
          expect(traps.rejections.map(describeErr)).to.deep.equal([]);
          expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
          expect(ok.status).to.equal(200);
        } finally {
          traps.stop();
        }
      });
    }

    it('@Transactional + @Res() under transactional(): a hang-up rolls back, no rejection', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/r8/in-res', JSON.stringify({ name: 'inres' })), 40);
        await sleep(500);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('@Transactional + @Res() alone: a client that hangs up before the answer gets nothing committed', async () => {
      const traps = trap();
      try {
        const r = await hangUp(port, rawPost('/r8/res', JSON.stringify({ name: 'res' })), 40);
        await sleep(500);
        const committed = await names();
        console.log(`      [${driver}] @Res() hang-up at 40 ms (answered first: ${r.answered}): committed ${JSON.stringify(committed)}`);
        // Observation only: @Transactional without @Res() commits before routing-controllers writes (by design).
        await hangUp(port, rawPost('/r8/plain', JSON.stringify({ name: 'plain' })), 40);
        await sleep(400);
        console.log(`      [${driver}] plain @Transactional hang-up at 40 ms: committed ${JSON.stringify((await names()).filter((n) => n === 'plain'))} (by design: COMMIT before routing-controllers writes)`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(committed, 'README: a client that disconnects rolls back').to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}
