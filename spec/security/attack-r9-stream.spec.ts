/**
 * attack-r9: handlers that stream (res.write chunks, awaiting each write's callback as a backpressure-aware
 * handler does) under transactional(), and HEAD requests, with clients that leave. README: "A res.write
 * callback runs at once (the write is buffered), so a handler awaiting it is not stuck"; "A client that
 * disconnects rolls back"; past maxBufferBytes "the transaction rolls back and the answer is 500
 * ERR_WT_DB_RESPONSE_TOO_LARGE".
 *
 * Found by this round (fixed in src/db/hold-response.ts): past maxBufferBytes the hold dropped later writes and
 * never called their callbacks (nor after res.end() or once the answer failed), so a handler awaiting
 * `res.write(chunk, cb)` never resumed, its `finally` never ran (node itself calls such a callback, with an
 * error, on an ended or destroyed response); now the callback gets node's error.
 */
import { expect } from 'chai';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, sleep, trap, untilIdle } from './attack-r8-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express5 = require('express5');

let db: Database;
let T: string;
/** Handlers that reached their `finally`, by name. */
const finished = new Map<string, number>();

const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);
/** The error codes write callbacks were given, by handler name. */
const writeErrors = new Map<string, string[]>();
/** A write whose callback is awaited (errors, e.g. a destroyed socket, resolve it too, and are recorded). */
const write = (res: any, chunk: string, name = '') =>
  new Promise<void>((resolve) =>
    res.write(chunk, (err?: NodeJS.ErrnoException) => {
      if (err) writeErrors.set(name, [...(writeErrors.get(name) ?? []), String(err.code)]);
      resolve();
    }),
  );

function makeApp(express: any) {
  const app = express();
  app.set('env', 'test');
  // A CSV export: a row logged per chunk, each chunk's write awaited.
  app.get('/stream', transactional(db), async (req: any, res: any, next: any) => {
    const name = String(req.query.name);
    try {
      res.setHeader('content-type', 'text/csv');
      for (let i = 0; i < 8; i++) {
        await insert(`${name}${i}`);
        await write(res, `${i},${'x'.repeat(1000)}\n`);
        await sleep(60);
      }
      res.end();
    } catch (err) {
      next(err);
    } finally {
      finished.set(name, Date.now());
    }
  });
  // One statement, then 8 KiB of chunks past maxBufferBytes (4 KiB): the 5th chunk overflows.
  app.get('/big', transactional(db, { maxBufferBytes: 4096 }), async (req: any, res: any, next: any) => {
    const name = String(req.query.name);
    try {
      await insert(name);
      // Writes only from here on (rows already fetched, say): nothing but the write callbacks to await.
      for (let i = 0; i < 8; i++) await write(res, `${i},${'x'.repeat(1000)}\n`, name);
      res.end();
    } catch (err) {
      next(err);
    } finally {
      finished.set(name, Date.now());
    }
  });
  // GET (and so HEAD) with a write: Express routes HEAD here.
  app.get('/touch', transactional(db), async (req: any, res: any, next: any) => {
    try {
      await insert(String(req.query.name));
      await sleep(Number(req.query.pause ?? 0));
      res.json({ ok: true });
    } catch (err) {
      next(err);
    }
  });
  return app;
}

const rawGet = (path: string, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

for (const [label, express] of [['Express 4', express4], ['Express 5', express5]] as const) {
  for (const driver of ['pg', 'PGlite'] as const) {
    describe(`attack-r9 streaming handlers and HEAD under hang-ups (${label}, ${driver})`, function () {
      this.timeout(30_000);
      let server: any;
      let port: number;
      hangUpSuite({ driver, prefix: 'r9s', makeApp: () => makeApp(express), idleMs: 5000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

      it('control: a client that waits gets the whole stream and all 8 rows commit', async () => {
        const res = await request(server).get('/stream?name=w');
        expect(res.status).to.equal(200);
        expect(res.text.split('\n').length).to.equal(9);
        expect((await names()).length).to.equal(8);
      });

      it('hang-up mid-stream (at 200 ms of ~500): the handler still finishes, nothing commits, no rejection, connection back', async () => {
        const traps = trap();
        try {
          const t0 = Date.now();
          await hangUp(port, rawGet('/stream?name=mid'), 200);
          const idle = await untilIdle(db, 4000);
          await sleep(300);
          const rows = await names();
          console.log(`      [${label} ${driver}] handler finished ${finished.has('mid') ? `${finished.get('mid')! - t0} ms` : 'never'}; idle after ${idle} ms; rows ${rows.length}`);
          expect(traps.rejections.map(describeErr)).to.deep.equal([]);
          expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
          expect(rows).to.deep.equal([]);
          expect(finished.has('mid'), 'the handler reached its finally').to.equal(true);
          expect(idle).to.be.at.least(0);
        } finally {
          traps.stop();
        }
      });

      it('past maxBufferBytes: 500 ERR_WT_DB_RESPONSE_TOO_LARGE, nothing commits, and the handler awaiting its write callbacks is not stuck', async () => {
        const res = await request(server).get('/big?name=big').timeout(5000);
        await sleep(500);
        console.log(`      [${label} ${driver}] /big: ${res.status} ${res.body?.code}; handler finished: ${finished.has('big')}`);
        expect(res.status).to.equal(500);
        expect(res.body.code).to.equal('ERR_WT_DB_RESPONSE_TOO_LARGE');
        expect(await names()).to.deep.equal([]);
        expect(finished.has('big'), 'the handler awaiting res.write callbacks reached its finally').to.equal(true);
        // The 5th chunk overflows (held: no error); the 3 after it are dropped and get node's error, as on a destroyed response.
        expect(writeErrors.get('big')).to.deep.equal(['ERR_STREAM_DESTROYED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_DESTROYED']);
        writeErrors.delete('big');
      });

      it('HEAD: a client that waits gets 200 with no body and the row commits; a HEAD that hangs up at 50 ms (handler 300 ms) commits nothing', async () => {
        const traps = trap();
        try {
          const ok = await request(server).head('/touch?name=head');
          expect(ok.status).to.equal(200);
          await hangUp(port, rawGet('/touch?name=headgone&pause=300', 'HEAD'), 50);
          await sleep(800);
          expect(await names()).to.deep.equal(['head']);
          expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        } finally {
          traps.stop();
        }
      });
    });
  }
}
