import { expect } from 'chai';
import express from 'express';
import type { Response } from 'express';
import { Body, JsonController, Post, Res, useExpressServer } from 'routing-controllers';
import request from 'supertest';
import { Database, Transactional, transactional, TransactionAbortedError } from '../../src';
import { uniqueName, openTestDatabase } from './support';

let db: Database;
let T: string;
let afterEnd: unknown;

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);

@JsonController('/rc')
class ResController {
  @Post('/res-swallow')
  @Transactional(() => db)
  async swallow(@Body() body: { name: string }, @Res() res: Response) {
    await db.query('SET CONSTRAINTS ALL IMMEDIATE');
    await insert(body.name);
    await insert(body.name).catch(() => undefined);
    res.status(200).json({ ok: true });
    return res;
  }

  @Post('/res-ok')
  @Transactional(() => db)
  async ok(@Body() body: { name: string }, @Res() res: Response) {
    await insert(body.name);
    res.status(201).json({ ok: true });
    return res;
  }
}

function makeApp() {
  const app = express();
  app.set('env', 'test'); // finalhandler logs nothing
  const tx = [transactional(db), express.json()];
  const route = (path: string, fn: (req: express.Request, res: Response) => Promise<void>, mw = tx) =>
    app.post(path, ...mw, (req, res, next) => fn(req, res).catch(next));
  route('/head-throw', async (req, res) => {
    await insert(req.body.name);
    res.writeHead(200, { 'content-type': 'text/plain' });
    throw new Error('fails after writeHead');
  });
  route('/write-throw', async (req, res) => {
    await insert(`${req.body.name} A`);
    res.write('part1 ');
    await insert(`${req.body.name} B`);
    throw new Error('fails after a partial write');
  });
  route('/sse', async (req, res) => {
    res.setHeader('content-type', 'text/event-stream');
    res.flushHeaders();
    for (let i = 0; i < 3; i++) res.write(`data: ${i}\n\n`);
    await insert(req.body.name);
    res.end();
  });
  route('/big', async (req, res) => {
    await insert(req.body.name);
    const chunk = Buffer.alloc(64 * 1024, 120);
    for (let i = 0; i < 20; i++) res.write(chunk); // 1.25 MiB > the 1 MiB default
    res.end();
  });
  route('/small-bound', async (req, res) => {
    await insert(req.body.name);
    res.end('x'.repeat(11));
  }, [transactional(db, { maxBufferBytes: 10 }), express.json()]);
  route('/after-end', async (req, res) => {
    await insert(req.body.name);
    res.status(201).end();
    afterEnd = await insert(`${req.body.name} late`).catch((e) => e);
  });
  useExpressServer(app, { controllers: [ResController], defaultErrorHandler: true });
  return app;
}

const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`transactional() holds the response until COMMIT, on ${driver}`, function () {
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
      T = uniqueName('held');
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text UNIQUE DEFERRABLE INITIALLY DEFERRED)`);
    });
    afterEach(async () => db.query(`DROP TABLE IF EXISTS ${T}`));

    it('an error after res.writeHead() rolls back and answers 500 problem+json', async () => {
      const res = await request(app).post('/head-throw').send({ name: 'h' });
      expect(res.status).to.equal(500);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(res.body.code).to.equal('ERR_WT_DB_RESPONSE_FAILED');
      expect(await names()).to.deep.equal([]);
    });

    it('an error after a partial res.write() rolls back both inserts and drops the partial body', async () => {
      const res = await request(app).post('/write-throw').send({ name: 'w' });
      expect(res.status).to.equal(500);
      expect(res.body.code).to.equal('ERR_WT_DB_RESPONSE_FAILED');
      expect(res.text).to.not.contain('part1');
      expect(await names()).to.deep.equal([]);
    });

    it('a streamed response (flushHeaders, then writes) is buffered and sent whole after COMMIT', async () => {
      const res = await request(app).post('/sse').send({ name: 's' }).buffer(true).parse((r, cb) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c));
        r.on('end', () => cb(null, text));
      });
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('text/event-stream');
      expect(res.body).to.equal('data: 0\n\ndata: 1\n\ndata: 2\n\n');
      expect(await names()).to.deep.equal(['s']);
    });

    it('writing past maxBufferBytes (default 1 MiB) rolls back and answers 500 ERR_WT_DB_RESPONSE_TOO_LARGE', async () => {
      const res = await request(app).post('/big').send({ name: 'b' });
      expect(res.status).to.equal(500);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(res.body.code).to.equal('ERR_WT_DB_RESPONSE_TOO_LARGE');
      expect(await names()).to.deep.equal([]);
      const small = await request(app).post('/small-bound').send({ name: 'c' });
      expect(small.status).to.equal(500);
      expect(small.body.code).to.equal('ERR_WT_DB_RESPONSE_TOO_LARGE');
      expect(await names()).to.deep.equal([]);
    });

    it('a statement after res.end() fails with TransactionAbortedError at once, and never joins the commit', async () => {
      afterEnd = undefined;
      await request(app).post('/after-end').send({ name: 'e' }).expect(201);
      for (let i = 0; i < 50 && afterEnd === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      expect(afterEnd).to.be.instanceOf(TransactionAbortedError);
      expect(await names()).to.deep.equal(['e']);
    });

    it('@Transactional with @Res(): a swallowed error answers 409 problem+json, never the 200 the action sent', async () => {
      const res = await request(app).post('/rc/res-swallow').send({ name: 'x' });
      expect(res.status).to.equal(409);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(res.body.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
      expect(await names()).to.deep.equal([]);
      const ok = await request(app).post('/rc/res-ok').send({ name: 'y' }).expect(201);
      expect(ok.body).to.deep.equal({ ok: true });
      expect(await names()).to.deep.equal(['y']);
    });
  });
}
