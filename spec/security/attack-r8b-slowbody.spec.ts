/**
 * attack-r8b: the idle clock of abortGraceMs starts when transactional() runs, before the body is read.
 * A client that takes longer than abortGraceMs to send its body, then hangs up, finds the transaction
 * already "idle": the handler's very first statement (after a 100 ms pause, the documented safe case)
 * is refused with TransactionAbortedError: under Express 4 an unhandled rejection any client can cause.
 */
import { expect } from 'chai';
import request from 'supertest';
import express from 'express';
import { Database, transactional } from '../../src';
import { createTestDatabase } from '../db/support';
import { hangUpSuite, describeErr, hangUp, sleep, trap, startChildServer, type ChildServer } from './attack-r8-helpers';

let db: Database;
let T: string;
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

const slowBodyHangUp = (port: number) => {
  const body = JSON.stringify({ name: 'slow' });
  const head = `POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return hangUp(port, [head, body.slice(0, 5), 1500, body.slice(5)], 20);
};

function makeApp() {
  const app = express();
  app.set('env', 'test');
  // app-wide transactional() before the body parser, as README's example order allows.
  app.use(transactional(db));
  app.use(express.json());
  app.post('/items', async (req, res) => {
    await sleep(100); // e.g. validation or a password hash
    await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [req.body.name]);
    res.status(201).json({ ok: true });
  });
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8b slow body, then hang-up (Express 4, ${driver})`, function () {
    this.timeout(30_000);
    let server: any;
    let port: number;
    hangUpSuite({ driver, prefix: 'r8bs', makeApp: () => makeApp(), idleMs: 5000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => ({ server, port } = l) });

    it('control: a client that waits gets 201 and the row', async () => {
      const res = await request(server).post('/items').send({ name: 'waited' });
      expect(res.status).to.equal(201);
      expect(await names()).to.deep.equal(['waited']);
    });

    it('body sent over 1.5 s, hang-up 20 ms after it, handler pausing 100 ms: no unhandled rejection, nothing commits', async () => {
      const traps = trap();
      try {
        await slowBodyHangUp(port);
        await sleep(600);
        const committed = await names();
        console.log(`      [${driver}] slow body: rejections ${JSON.stringify(traps.rejections.map(describeErr))}, committed ${JSON.stringify(committed)}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(committed).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}

describe('attack-r8b a real Express 4 process (no mocha): one slow-body hang-up', function () {
  this.timeout(30_000);

  it('the server process survives a client that sends its body over 1.5 s and hangs up', async () => {
    const pg = await createTestDatabase();
    let server: ChildServer | undefined;
    try {
      server = await startChildServer('attack-r8b-slowbody-child.ts', [pg.url]);
      const { port, exited } = server;
      await slowBodyHangUp(port);
      const code = await Promise.race([exited, sleep(2000).then(() => 'alive' as const)]);
      console.log(`      real process after one slow-body hang-up: ${code === 'alive' ? 'alive' : `exited ${code}`}; stderr: ${JSON.stringify(server.stderr().split('\n').find((l) => /Error/.test(l)) ?? '')}`);
      expect(code, `the server process after a client hung up: ${server.stderr().slice(0, 300)}`).to.equal('alive');
    } finally {
      await server?.stop();
      await pg.drop();
    }
  });
});
