import { expect } from 'chai';
import { Database, TransactionAbortedError, TransactionControlError, type Driver, type Lease } from '../../src';
import { createTestDatabase, uniqueName, openTestDatabase } from './support';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('expected a rejection'), (e) => e);
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`Database: raw transaction control inside a transaction, on ${driver}`, function () {
    this.timeout(60_000);
    let db: Database;
    let T: string;
    let drop: (() => Promise<void>) | undefined;
    const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);

    before(async () => {
      ({ db, drop } = await openTestDatabase(driver));
    });
    after(async () => {
      await db.close();
      await drop?.();
    });
    beforeEach(async () => {
      T = uniqueName('txctl');
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text)`);
    });
    afterEach(async () => db.query(`DROP TABLE IF EXISTS ${T}`));

    it('refuses BEGIN/COMMIT/ROLLBACK/END/START TRANSACTION with ERR_WT_DB_TRANSACTION_CONTROL; the transaction goes on', async () => {
      await db.transaction(async () => {
        await db.query(`INSERT INTO ${T} (name) VALUES ('a')`);
        for (const sql of ['COMMIT', 'commit;', '  End', 'ROLLBACK', 'rollback work', 'BEGIN', 'start transaction', 'ABORT', 'COMMIT AND CHAIN']) {
          const err = await rejection(db.query(sql));
          expect(err, sql).to.be.instanceOf(TransactionControlError);
          expect((err as TransactionControlError).code).to.equal('ERR_WT_DB_TRANSACTION_CONTROL');
        }
        await db.query('SAVEPOINT mine');
        await db.query(`INSERT INTO ${T} (name) VALUES ('b')`);
        await db.query('ROLLBACK TO SAVEPOINT mine');
      });
      expect(await names()).to.deep.equal(['a']);
    });

    it('a raw COMMIT through db.pool.connect() is refused too', async () => {
      const err = await rejection(
        db.transaction(async () => {
          const client = await db.pool.connect();
          try {
            await client.query(`INSERT INTO ${T} (name) VALUES ('a')`);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
      );
      expect(err).to.be.instanceOf(TransactionControlError);
      expect(await names()).to.deep.equal([]);
    });

    it('a COMMIT that slips past the check (behind a comment) ends in TransactionAbortedError at COMMIT, never a silent success', async () => {
      const err = await rejection(
        db.transaction(async () => {
          await db.query(`INSERT INTO ${T} (name) VALUES ('a')`);
          await db.query('/* sneaky */ COMMIT');
          await db.query(`INSERT INTO ${T} (name) VALUES ('b')`);
        }),
      );
      expect(err).to.be.instanceOf(TransactionAbortedError);
      expect((err as TransactionAbortedError).code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
    });

    if (driver === 'pg') {
      it('a multi-statement string with COMMIT ends in TransactionAbortedError at COMMIT', async () => {
        const err = await rejection(
          db.transaction(async () => {
            await db.query(`INSERT INTO ${T} (name) VALUES ('a'); COMMIT`);
            await db.query(`INSERT INTO ${T} (name) VALUES ('b')`);
          }),
        );
        expect(err).to.be.instanceOf(TransactionAbortedError);
      });

      it('a slipped COMMIT followed by a raw BEGIN: what ran in the raw transaction is rolled back, never committed by ours', async () => {
        const err = await rejection(
          db.transaction(async () => {
            await db.query(`INSERT INTO ${T} (name) VALUES ('a'); COMMIT; BEGIN`);
            await db.query(`INSERT INTO ${T} (name) VALUES ('b')`);
          }),
        );
        expect(err).to.be.instanceOf(TransactionAbortedError);
        expect((err as Error).message).to.match(/raw COMMIT or ROLLBACK/);
        // 'a' was committed by the slipped COMMIT (reported, not undone); 'b' never commits.
        expect(await names()).to.deep.equal(['a']);
      });
    }
  });
}

/** Wraps a driver so every round trip its leases make is counted; `batch` can be hidden, as a custom driver may lack it. */
function counting(inner: Driver, withBatch: boolean): Driver & { trips: number } {
  const counter = {
    trips: 0,
    get kind() {
      return inner.kind;
    },
    get maxConnections() {
      return inner.maxConnections;
    },
    get reportsCommandTag() {
      return inner.reportsCommandTag;
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
    async acquire(timeoutMs: number): Promise<Lease> {
      const lease = await inner.acquire(timeoutMs);
      const wrapped: Lease = {
        query: (q, v) => (counter.trips++, lease.query(q, v)),
        release: (d) => lease.release(d),
      };
      if (withBatch) wrapped.batch = (statements) => (counter.trips++, lease.batch!(statements));
      return wrapped;
    },
  };
  return counter;
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`Database: round trips of a transaction, on ${driver}`, function () {
    this.timeout(60_000);
    let inner: Database;
    let drop: (() => Promise<void>) | undefined;
    let T: string;

    before(async () => {
      ({ db: inner, drop } = await openTestDatabase(driver));
      T = uniqueName('trips');
      await inner.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text)`);
    });
    after(async () => {
      await inner.close();
      await drop?.();
    });

    it('one statement costs 3 round trips, as a hand-written BEGIN/statement/COMMIT does: the checks ride in BEGIN and COMMIT', async () => {
      const driverCounted = counting(inner.primary, true);
      const db = new Database({ primary: driverCounted });
      await db.transaction(async () => db.query(`INSERT INTO ${T} (name) VALUES ('x')`));
      expect(driverCounted.trips).to.equal(3);
      driverCounted.trips = 0;
      await db.transaction(async () => db.query('SELECT 1'), { timeoutMs: 1000, isolation: 'serializable' });
      expect(driverCounted.trips).to.equal(3);
    });

    it('a driver without batch() still refuses a swallowed error and a slipped COMMIT, one statement per round trip', async () => {
      const driverCounted = counting(inner.primary, false);
      const db = new Database({ primary: driverCounted });
      const swallowed = await rejection(
        db.transaction(async () => {
          await db.query(`INSERT INTO ${T} (name) VALUES ('swallowed')`);
          await db.query('SELECT 1/0').catch(() => undefined);
        }),
      );
      expect(swallowed).to.be.instanceOf(TransactionAbortedError);
      const slipped = await rejection(db.transaction(async () => db.query('/* sneaky */ COMMIT')));
      expect(slipped).to.be.instanceOf(TransactionAbortedError);
      expect((slipped as Error).message).to.match(/raw COMMIT or ROLLBACK/);
      expect((await db.query<{ name: string }>(`SELECT name FROM ${T} WHERE name = 'swallowed'`)).rows).to.deep.equal([]);
    });
  });
}

describe('Database: a statement its scope did not await (PostgreSQL 15 server)', () => {
  it('fails with TransactionAbortedError once the scope has returned, instead of racing the COMMIT', async function () {
    this.timeout(30_000);
    const pg = await createTestDatabase();
    const db = new Database({ primary: pg.url });
    try {
      const T = uniqueName('late');
      await db.query(`CREATE TABLE ${T} (name text)`);
      let late!: Promise<unknown>;
      await db.transaction(async () => {
        await db.query(`INSERT INTO ${T} VALUES ('a')`);
        late = (async () => {
          for (let i = 0; i < 20; i++) await null; // lands while COMMIT is under way
          return db.query(`INSERT INTO ${T} VALUES ('late')`);
        })().catch((e) => e);
      });
      expect(await late).to.be.instanceOf(TransactionAbortedError);
      expect((await db.query(`SELECT name FROM ${T}`)).rows.map((r) => r.name)).to.deep.equal(['a']);
    } finally {
      await db.close();
      await pg.drop();
    }
  });
});
