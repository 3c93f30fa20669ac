/**
 * attack-r8b: Express 5 (package `express5`) and many hang-ups: the same savepoint handler as
 * attack-r8b-grace, and a pool-sized burst of hang-ups, then `db.primary.stats()`.
 */
import { expect } from 'chai';
import { Database, transactional } from '../../src';
import { hangUpSuite, describeErr, hangUp, rawPost, sleep, trap, untilIdle } from './attack-r8-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express = require('express5');
let db: Database;
let T: string;
const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

function makeApp() {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  app.post('/nested', transactional(db) as any, async (req: any, res: any) => {
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
  // Pauses of 300 ms, no savepoint: the documented safe case.
  app.post('/steps', transactional(db) as any, async (req: any, res: any) => {
    for (let i = 0; i < 3; i++) {
      await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [`${req.body.name}${i}`]);
      await sleep(300);
    }
    res.status(201).json({ ok: true });
  });
  return app;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`attack-r8b hang-ups under Express 5 (${driver})`, function () {
    this.timeout(30_000);
    let port: number;
    hangUpSuite({ driver, prefix: 'r8b5', makeApp: () => makeApp() as any, idleMs: 8000, dropTable: false, onDb: (d) => (db = d), onTable: (t) => (T = t), onListen: (l) => (port = l.port) });

    it('/nested (600 ms pauses around a savepoint), hang-up at 50 ms: no unhandled rejection, nothing commits', async () => {
      const traps = trap();
      try {
        await hangUp(port, rawPost('/nested', JSON.stringify({ name: 'n5' })), 50);
        await sleep(2000);
        console.log(`      [${driver}] express5 /nested: rejections ${JSON.stringify(traps.rejections.map(describeErr))}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });

    it('40 concurrent hang-ups on /steps at 0-60 ms: no rejection, nothing commits, the pool comes back idle (waitingCount 0, idleCount = totalCount)', async () => {
      const traps = trap();
      try {
        await Promise.all(Array.from({ length: 40 }, (_, i) => hangUp(port, rawPost('/steps', JSON.stringify({ name: `s${i}-` })), (i * 7) % 60)));
        const idle = await untilIdle(db, 15_000);
        const stats = db.primary.stats();
        console.log(`      [${driver}] express5 40 hang-ups: idle after ${idle} ms, stats ${JSON.stringify(stats)}, rejections ${traps.rejections.length}`);
        expect(traps.rejections.map(describeErr)).to.deep.equal([]);
        expect(traps.exceptions.map(describeErr)).to.deep.equal([]);
        expect(idle).to.be.at.least(0);
        expect(stats.waitingCount).to.equal(0);
        expect(stats.idleCount).to.equal(stats.totalCount);
        expect(await names()).to.deep.equal([]);
      } finally {
        traps.stop();
      }
    });
  });
}
