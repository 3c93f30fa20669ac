import { expect } from 'chai';
import express from 'express';
import type { Response } from 'express';
import { JsonController, Post, Res, useExpressServer } from 'routing-controllers';
import request from 'supertest';
import { Database, Transactional, transactional } from '../../src';
import { openTestDatabase, uniqueName } from './support';

let db: Database;
let T: string;
let D: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@JsonController('/joined')
class JoinedController {
  /** Its own transaction, whose COMMIT fails (a deferred unique constraint), under an app-wide transactional(). */
  @Post('/new-tx-fails-at-commit')
  @Transactional(() => db, { propagation: 'requires_new' })
  async newTx(@Res() res: Response) {
    await db.query(`INSERT INTO ${D} (k) VALUES (1)`);
    res.status(201).json({ ok: true });
    return res;
  }

  /** Joins the request transaction, answers, then fails. */
  @Post('/end-then-throw')
  @Transactional(() => db)
  async endThenThrow(@Res() res: Response) {
    await db.query(`INSERT INTO ${T} (name) VALUES ('end-then-throw')`);
    res.status(201).end('created');
    await sleep(50);
    throw new Error('after the answer');
  }
}

describe('Held responses: joined holds and node-refused calls (PostgreSQL 15 server)', function () {
  this.timeout(60_000);
  let drop: (() => Promise<void>) | undefined;
  const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY name`)).rows.map((r) => r.name);

  before(async () => {
    ({ db, drop } = await openTestDatabase('pg'));
  });
  after(async () => {
    await db.close();
    await drop?.();
  });
  beforeEach(async () => {
    T = uniqueName('held');
    D = uniqueName('deferred');
    await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text)`);
    await db.query(`CREATE TABLE ${D} (k int, CONSTRAINT ${D}_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)`);
    await db.query(`INSERT INTO ${D} (k) VALUES (1)`);
  });
  afterEach(async () => {
    await db.query(`DROP TABLE IF EXISTS ${T}`);
    await db.query(`DROP TABLE IF EXISTS ${D}`);
  });

  function app(): express.Express {
    const a = express();
    a.set('env', 'test');
    a.use(transactional(db));
    return a;
  }

  const idle = () => expect(db.primary.stats().idleCount).to.equal(db.primary.stats().totalCount);

  it('@Transactional + @Res() under an app-wide transactional(): a COMMIT of its own that fails answers 409, never the 201; the process lives', async () => {
    const a = app();
    useExpressServer(a, { controllers: [JoinedController], defaultErrorHandler: true });
    const res = await request(a).post('/joined/new-tx-fails-at-commit');
    expect(res.status).to.equal(409);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${D}`)).rows[0].n).to.equal(1);
    idle();
  });

  it('@Transactional + @Res() joined to the request transaction, failing after its answer: not the 201, nothing commits', async () => {
    const a = app();
    useExpressServer(a, { controllers: [JoinedController], defaultErrorHandler: true });
    const res = await request(a).post('/joined/end-then-throw');
    expect(res.status).to.be.at.least(400);
    await sleep(100);
    expect(await names()).to.deep.equal([]);
    idle();
  });

  it("the inner transactional()'s maxBufferBytes holds when it joins an app-wide one", async () => {
    const a = app();
    a.post('/small', transactional(db, { maxBufferBytes: 10 }), async (req, res, next) => {
      try {
        await db.query(`INSERT INTO ${T} (name) VALUES ('small')`);
        res.end('x'.repeat(1000));
      } catch (err) {
        next(err);
      }
    });
    const res = await request(a).post('/small');
    expect(res.status).to.equal(500);
    expect(res.body.code ?? JSON.parse(res.text).code).to.equal('ERR_WT_DB_RESPONSE_TOO_LARGE');
    expect(await names()).to.deep.equal([]);
  });

  it('a connection cut after res.end() and before COMMIT: nobody sees the answer, so nothing commits', async () => {
    const a = app();
    a.post('/cut', async (req, res, next) => {
      try {
        await db.query(`INSERT INTO ${T} (name) VALUES ('cut')`);
        res.status(201).end();
        req.socket.destroy();
      } catch (err) {
        next(err);
      }
    });
    await request(a)
      .post('/cut')
      .then(
        () => undefined,
        () => undefined,
      );
    await sleep(100);
    expect(await names()).to.deep.equal([]);
    idle();
  });

  it('a handler that awaits a write callback is answered, and commits', async () => {
    const a = app();
    a.post('/cb', async (req, res, next) => {
      try {
        await db.query(`INSERT INTO ${T} (name) VALUES ('cb')`);
        await new Promise((resolve) => res.write('chunk ', resolve));
        res.end('done');
      } catch (err) {
        next(err);
      }
    });
    const res = await request(a).post('/cb');
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('chunk done');
    expect(await names()).to.deep.equal(['cb']);
    idle();
  });

  it('writeHead twice, writeHead after write and an odd-length header array throw in the handler (500, rollback)', async () => {
    const a = app();
    const route = (path: string, answer: (res: express.Response) => void) =>
      a.post(path, async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [path]);
          answer(res);
        } catch (err) {
          next(err);
        }
      });
    route('/twice', (res) => void res.writeHead(200).writeHead(200).end('x'));
    route('/after-write', (res) => {
      res.write('partial');
      res.writeHead(200);
      res.end('x');
    });
    route('/odd', (res) => void res.writeHead(200, ['x-a', '1', 'x-b'] as never).end('x'));
    a.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ error: err.message }));
    for (const path of ['/twice', '/after-write', '/odd']) expect((await request(a).post(path)).status, path).to.equal(500);
    expect(await names()).to.deep.equal([]);
  });

  it('what was checked is what is sent: a headers object changed after writeHead, a reason phrase set after end()', async () => {
    const a = app();
    a.post('/snap', async (req, res, next) => {
      try {
        await db.query(`INSERT INTO ${T} (name) VALUES ('snap')`);
        const headers: Record<string, string> = { 'x-a': 'ok' };
        res.writeHead(201, headers);
        headers['x-a'] = 'bad\nvalue';
        res.end('x');
        res.statusMessage = 'bad\nreason';
      } catch (err) {
        next(err);
      }
    });
    const res = await request(a).post('/snap');
    expect(res.status).to.equal(201);
    expect(res.headers['x-a']).to.equal('ok');
    expect(await names()).to.deep.equal(['snap']);
  });
});
