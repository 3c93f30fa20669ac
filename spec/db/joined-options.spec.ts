import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, transactional, TransactionPropagationError } from '../../src';
import { openTestDatabase } from './support';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('expected a rejection'), (e) => e);
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`Database: options of a joined or nested scope, on ${driver}`, function () {
    this.timeout(60_000);
    let db: Database;
    let drop: (() => Promise<void>) | undefined;
    const timeout = async () => (await db.query('SHOW statement_timeout')).rows[0].statement_timeout as string;

    before(async () => {
      ({ db, drop } = await openTestDatabase(driver));
    });
    after(async () => {
      await db.close();
      await drop?.();
    });

    it('readOnly or a stricter isolation on a joined or nested scope throws ERR_WT_DB_PROPAGATION at scope start', async () => {
      let ran = 0;
      await db.transaction(async () => {
        for (const options of [{ readOnly: true }, { isolation: 'serializable' as const }, { isolation: 'repeatable read' as const, propagation: 'mandatory' as const }, { readOnly: true, propagation: 'nested' as const }]) {
          const err = await rejection(db.transaction(async () => ran++, options));
          expect(err, JSON.stringify(options)).to.be.instanceOf(TransactionPropagationError);
          expect((err as TransactionPropagationError).code).to.equal('ERR_WT_DB_PROPAGATION');
        }
      });
      expect(ran).to.equal(0);
      // What the running transaction already satisfies is fine.
      await db.transaction(async () => db.transaction(async () => db.transaction(async () => ran++, { readOnly: true, isolation: 'read committed' })), { readOnly: true, isolation: 'serializable' });
      expect(ran).to.equal(1);
    });

    it('timeoutMs on a joined or nested scope applies for that scope only, then the previous value is back', async () => {
      const seen: string[] = [];
      await db.transaction(
        async () => {
          seen.push(await timeout());
          await db.transaction(async () => seen.push(await timeout()), { timeoutMs: 1500 });
          seen.push(await timeout());
          await db.transaction(async () => seen.push(await timeout()), { timeoutMs: 2500, propagation: 'nested' });
          seen.push(await timeout());
        },
        { timeoutMs: 4000 },
      );
      expect(seen).to.deep.equal(['4s', '1500ms', '4s', '2500ms', '4s']);
    });

    if (driver === 'pg') {
      it('a joined scope\'s timeoutMs cancels its slow statement (57014)', async () => {
        const err = await rejection(db.transaction(async () => db.transaction(async () => db.query('SELECT pg_sleep(2)'), { timeoutMs: 100 })));
        expect((err as { code?: string }).code).to.equal('57014');
      });

      it('transactional({ timeoutMs }): a statement that times out answers 503 problem+json, not 500', async () => {
        const app = express();
        app.set('env', 'test');
        app.get('/slow', transactional(db, { timeoutMs: 100 }), (req, res, next) => {
          db.query('SELECT pg_sleep(2)').then(() => res.json({}), next);
        });
        const res = await request(app).get('/slow');
        expect(res.status).to.equal(503);
        expect(res.headers['content-type']).to.equal('application/problem+json');
        expect(res.body.code).to.equal('ERR_WT_DB_UNAVAILABLE');
      });
    }
  });
}
