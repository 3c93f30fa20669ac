import { expect } from 'chai';
import express from 'express';
import { Kysely, PostgresDialect, sql } from 'kysely';
import request from 'supertest';
import { Database, TransactionAbortedError, TransactionPropagationError, transactional, withRollback } from '../../src';
import { openTestDatabase, uniqueName } from './support';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('expected a rejection'), (e) => e);
}

for (const driver of ['pg', 'PGlite'] as const) {
  describe(`Database: concurrent scopes and clients in one transaction, on ${driver}`, function () {
    this.timeout(60_000);
    let db: Database;
    let drop: (() => Promise<void>) | undefined;
    let T: string;
    let k: Kysely<any>;
    const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY name`)).rows.map((r) => r.name);

    before(async () => {
      ({ db, drop } = await openTestDatabase(driver));
      k = new Kysely<any>({ dialect: new PostgresDialect({ pool: db.pool as any }) });
    });
    after(async () => {
      await db.close();
      await drop?.();
    });
    beforeEach(async () => {
      T = uniqueName('conc');
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text)`);
    });
    afterEach(async () => db.query(`DROP TABLE IF EXISTS ${T}`));

    it('a sibling statement never runs inside a nested scope that then rolls back: its work commits (HTTP, 201)', async () => {
      const app = express();
      app.use(transactional(db));
      app.post('/orders', async (req, res) => {
        const [bonus, order] = await Promise.all([
          db
            .transaction(
              async (tx) => {
                await tx.query(`INSERT INTO ${T} (name) VALUES ('bonus')`);
                await sleep(50);
                throw new Error('bonus not allowed');
              },
              { propagation: 'nested' },
            )
            .then(() => 'granted', () => 'skipped'),
          (async () => {
            await sleep(10);
            await db.query(`INSERT INTO ${T} (name) VALUES ('order')`);
            return 'saved';
          })(),
        ]);
        res.status(201).json({ bonus, order });
      });
      const res = await request(app).post('/orders').expect(201);
      expect(res.body).to.deep.equal({ bonus: 'skipped', order: 'saved' });
      expect(await names()).to.deep.equal(['order']);
    });

    it('two Kysely transactions side by side (Promise.all): one failing undoes only its own work', async () => {
      await db.transaction(async () => {
        await Promise.all([
          k
            .transaction()
            .execute(async (trx) => {
              await sql`INSERT INTO ${sql.table(T)} (name) VALUES ('failed')`.execute(trx);
              await sleep(40);
              throw new Error('no');
            })
            .catch(() => undefined),
          k.transaction().execute(async (trx) => {
            await sleep(10);
            await sql`INSERT INTO ${sql.table(T)} (name) VALUES ('kept')`.execute(trx);
          }),
          (async () => {
            await sleep(20);
            await k.insertInto(T).values({ name: 'plain' }).execute();
          })(),
        ]);
      });
      expect(await names()).to.deep.equal(['kept', 'plain']);
    });

    it('db.query inside a Kysely transaction callback waits for that transaction (use trx there): it fails within acquireTimeoutMs, never hangs', async () => {
      const quick = new Database({ primary: db.primary, acquireTimeoutMs: 300 });
      const kq = new Kysely<any>({ dialect: new PostgresDialect({ pool: quick.pool as any }) });
      const started = Date.now();
      const err = await rejection(
        quick.transaction(async () =>
          kq.transaction().execute(async (trx) => {
            await sql`INSERT INTO ${sql.table(T)} (name) VALUES ('builder')`.execute(trx);
            await quick.query(`INSERT INTO ${T} (name) VALUES ('repository')`);
          }),
        ),
      );
      expect(err).to.be.instanceOf(TransactionPropagationError);
      expect(Date.now() - started).to.be.below(3000);
      expect(await names()).to.deep.equal([]);
    });

    it('a statement sent while the transaction rolls back fails; it never runs after ROLLBACK on its own', async () => {
      const err = await rejection(
        db.transaction(async () => {
          await Promise.all([
            db.query('SELECT pg_sleep(0.1)').then(() => db.query(`INSERT INTO ${T} (name) VALUES ('straggler')`)),
            sleep(10).then(() => {
              throw new Error('branch failed');
            }),
          ]);
        }),
      );
      expect((err as Error).message).to.equal('branch failed');
      await sleep(200);
      expect(await names()).to.deep.equal([]);
    });

    it('a statement of a nested scope sent while its savepoint rolls back fails; it never lands in the outer transaction', async () => {
      await db.transaction(async () => {
        await db
          .transaction(
            async () => {
              await Promise.all([
                db.query('SELECT pg_sleep(0.1)').then(() => db.query(`INSERT INTO ${T} (name) VALUES ('straggler')`)),
                sleep(10).then(() => {
                  throw new Error('nested failed');
                }),
              ]);
            },
            { propagation: 'nested' },
          )
          .catch(() => undefined);
        await sleep(200);
        await db.query(`INSERT INTO ${T} (name) VALUES ('outer')`);
      });
      expect(await names()).to.deep.equal(['outer']);
    });

    it('a nested scope beside an open Kysely transaction waits for it: its work and its afterCommit hook survive the Kysely rollback', async () => {
      let hooks = 0;
      await db.transaction(async () => {
        await Promise.all([
          k
            .transaction()
            .execute(async (trx) => {
              await sql`INSERT INTO ${sql.table(T)} (name) VALUES ('kysely')`.execute(trx);
              await sleep(40);
              throw new Error('no');
            })
            .catch(() => undefined),
          sleep(10).then(() =>
            db.transaction(
              async () => {
                await db.query(`INSERT INTO ${T} (name) VALUES ('nested')`);
                db.afterCommit(() => void hooks++);
              },
              { propagation: 'nested' },
            ),
          ),
        ]);
      });
      expect(await names()).to.deep.equal(['nested']);
      expect(hooks).to.equal(1);
    });

    it('nested scopes waiting for each other (a memoised nested helper) fail within acquireTimeoutMs instead of hanging', async () => {
      const quick = new Database({ primary: db.primary, acquireTimeoutMs: 300 });
      let memo: Promise<unknown> | undefined;
      const ensure = () => (memo ??= quick.transaction(() => quick.query(`INSERT INTO ${T} (name) VALUES ('tenant')`), { propagation: 'nested' }));
      const started = Date.now();
      const outcome = await Promise.race([
        quick
          .transaction(async () => {
            await Promise.all([
              quick.transaction(
                async () => {
                  await sleep(5);
                  await ensure();
                },
                { propagation: 'nested' },
              ),
              ensure(),
            ]);
          })
          .then(
            () => 'resolved',
            (e) => e,
          ),
        sleep(5000).then(() => 'hung'),
      ]);
      expect(outcome).to.be.instanceOf(TransactionPropagationError);
      expect(Date.now() - started).to.be.below(3000);
    });

    it('a db.pool client BEGIN left open inside a nested scope: the scope rolls back and fails; nothing commits', async () => {
      const err = await rejection(
        db.transaction(async () => {
          await db.transaction(
            async () => {
              const client = await db.pool.connect();
              await client.query('BEGIN');
              await client.query(`INSERT INTO ${T} (name) VALUES ('never committed')`);
            },
            { propagation: 'nested' },
          );
        }),
      );
      expect(err).to.be.instanceOf(TransactionAbortedError);
      expect(await names()).to.deep.equal([]);
    });

    it('outside a transaction, a db.pool client released inside its own BEGIN does not leave that BEGIN to the next user of the connection', async () => {
      const one = new Database({ primary: db.primary, maxConnections: 1 });
      // As pg's docs do it (release(err)), plainly, and with a BEGIN no pattern would recognise.
      for (const [begin, release] of [['BEGIN', new Error('validation failed')], ['BEGIN', undefined], ['/* repository */ BEGIN', undefined]] as const) {
        await db.query(`DELETE FROM ${T}`);
        const client = await one.pool.connect();
        await client.query(begin);
        await client.query(`INSERT INTO ${T} (name) VALUES ('abandoned')`);
        client.release(release);
        await one.query(`INSERT INTO ${T} (name) VALUES ('next')`);
        await one.transaction(async () => one.query(`INSERT INTO ${T} (name) VALUES ('request')`));
        expect(await names(), `${begin} / ${release ? 'release(err)' : 'release()'}`).to.deep.equal(['next', 'request']);
      }
    });

    it('transactional() twice on one request (app-wide and on the route): one COMMIT, the 201 sent once, no connection left open', async () => {
      const app = express();
      app.use(transactional(db));
      app.post('/x', transactional(db), async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ('twice')`);
          res.status(201).json({ ok: true });
        } catch (err) {
          next(err);
        }
      });
      const res = await request(app).post('/x');
      expect(res.status).to.equal(201);
      expect(res.body).to.deep.equal({ ok: true });
      expect(await names()).to.deep.equal(['twice']);
      expect(db.primary.stats().idleCount).to.equal(db.primary.stats().totalCount);
    });

    it('commitOn judges the status that is sent: statuses node would wrap or coerce, bad header values and unknown encodings are handler errors (500, rollback)', async () => {
      const app = express();
      app.use(transactional(db));
      const route = (path: string, answer: (res: express.Response) => void) =>
        app.get(path, async (req, res, next) => {
          try {
            await db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [path]);
            answer(res);
          } catch (err) {
            next(err);
          }
        });
      route('/wrap200', (res) => void ((res.statusCode = 2 ** 32 + 200), res.end()));
      route('/wrap500', (res) => void ((res.statusCode = 500 - 2 ** 32), res.end()));
      route('/string', (res) => void res.writeHead('200' as never).end());
      route('/header', (res) => void res.writeHead(201, { 'x-note': 'a\r\nx-injected: 1' }).end());
      route('/encoding', (res) => void res.end('x', 'bogus-encoding' as never));
      app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ error: err.message }));
      for (const path of ['/wrap200', '/wrap500', '/string', '/header', '/encoding']) {
        const res = await request(app).get(path);
        expect(res.status, path).to.equal(500);
        expect(res.headers, path).to.not.have.property('x-injected');
      }
      expect(await names()).to.deep.equal([]);
    });

    it("a nested scope whose release turns into a rollback (a swallowed error) runs its afterRollback hooks", async () => {
      let rolledBack = 0;
      await db.transaction(async () => {
        await db
          .transaction(
            async () => {
              db.afterRollback(() => void rolledBack++);
              await db.query('SELECT 1/0').catch(() => undefined);
            },
            { propagation: 'nested' },
          )
          .catch(() => undefined);
      });
      expect(rolledBack).to.equal(1);
    });

    it('a handler mistake that node refuses (status 99, a number written) answers 500 and rolls back; the process lives', async () => {
      const app = express();
      app.use(transactional(db));
      // Express 4 passes an async handler's errors on only through next().
      app.get('/status', async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ('status')`);
          res.status(99).end('ok');
        } catch (err) {
          next(err);
        }
      });
      app.get('/write', async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ('write')`);
          res.write(12345 as never);
          res.end();
        } catch (err) {
          next(err);
        }
      });
      app.get('/reason', async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ('reason')`);
          res.writeHead(201, 'Created\n');
          res.end('created');
        } catch (err) {
          next(err);
        }
      });
      app.get('/reason-prop', async (req, res, next) => {
        try {
          await db.query(`INSERT INTO ${T} (name) VALUES ('reason-prop')`);
          res.statusMessage = 'Created\r\nX-Injected: 1';
          res.status(201).end('created');
        } catch (err) {
          next(err);
        }
      });
      // The same mistakes in synchronous handlers, as the attack sent them: no DB work, no crash.
      app.get('/sync', (req, res) => void res.status(99).end('ok'));
      app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ error: err.message }));
      expect((await request(app).get('/status')).status).to.equal(500);
      expect((await request(app).get('/write')).status).to.equal(500);
      expect((await request(app).get('/sync')).status).to.equal(500);
      expect((await request(app).get('/reason')).status).to.equal(500);
      const injected = await request(app).get('/reason-prop');
      expect(injected.status).to.equal(500);
      expect(injected.headers).to.not.have.property('x-injected');
      expect(await names()).to.deep.equal([]);
    });

    it('the tx handle stays bound to its transaction: used from a context started outside it, it runs there (and rolls back with it)', async () => {
      const jobs: (() => Promise<unknown>)[] = [];
      // A worker loop started outside any transaction: what it runs has no transaction of its own.
      const worker = setInterval(() => void jobs.shift()?.(), 5);
      try {
        const err = await rejection(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${T} (name) VALUES ('one')`);
            await new Promise<void>((resolve, reject) => jobs.push(() => tx.query(`INSERT INTO ${T} (name) VALUES ('two')`).then(() => resolve(), reject)));
            throw new Error('roll back');
          }),
        );
        expect((err as Error).message).to.equal('roll back');
      } finally {
        clearInterval(worker);
      }
      expect(await names()).to.deep.equal([]);
    });

    it('a tx handle used after its transaction ended fails; it never runs on its own', async () => {
      let kept!: { query(q: string): Promise<unknown> };
      await db.transaction(async (tx) => {
        kept = tx;
      });
      expect(await rejection(kept.query(`INSERT INTO ${T} (name) VALUES ('late')`))).to.be.instanceOf(TransactionAbortedError);
      let nestedKept!: { query(q: string): Promise<unknown> };
      await db.transaction(async () => {
        await db.transaction(async (tx) => void (nestedKept = tx), { propagation: 'nested' });
        expect(await rejection(nestedKept.query(`INSERT INTO ${T} (name) VALUES ('late')`))).to.be.instanceOf(TransactionAbortedError);
      });
      expect(await names()).to.deep.equal([]);
    });

    it('release(err) of a db.pool client with its BEGIN open rolls that work back, as pg would by destroying the client', async () => {
      await db.transaction(async () => {
        const client = await db.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(`INSERT INTO ${T} (name) VALUES ('discarded')`);
          throw new Error('boom');
        } catch (err) {
          client.release(err);
        }
        await db.query(`INSERT INTO ${T} (name) VALUES ('kept')`);
      });
      expect(await names()).to.deep.equal(['kept']);
    });

    it('release() without an error and with BEGIN still open: the transaction is refused at COMMIT, nothing commits', async () => {
      const err = await rejection(
        db.transaction(async () => {
          const client = await db.pool.connect();
          await client.query('BEGIN');
          await client.query(`INSERT INTO ${T} (name) VALUES ('half')`);
          client.release();
          await db.query(`INSERT INTO ${T} (name) VALUES ('other')`);
        }),
      );
      expect(err).to.be.instanceOf(TransactionAbortedError);
      expect(await names()).to.deep.equal([]);
    });

    it('a db.pool client transaction still open when the response ends: the request fails and nothing commits', async () => {
      const app = express();
      app.use(transactional(db));
      app.post('/', async (req, res) => {
        const client = await db.pool.connect();
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${T} (name) VALUES ('open')`);
        res.status(200).json({ ok: true });
      });
      const res = await request(app).post('/');
      expect(res.status).to.be.at.least(400);
      expect(await names()).to.deep.equal([]);
    });

    it('a Kysely BEGIN asking for a stricter isolation or another access mode than the request transaction is refused', async () => {
      const iso = await rejection(db.transaction(async () => k.transaction().setIsolationLevel('serializable').execute(async () => undefined)));
      expect(iso).to.be.instanceOf(TransactionPropagationError);
      const ro = await rejection(db.transaction(async () => k.transaction().setAccessMode('read only').execute(async () => undefined)));
      expect(ro).to.be.instanceOf(TransactionPropagationError);
      // What the outer transaction already gives is accepted.
      await db.transaction(async () => k.transaction().setIsolationLevel('serializable').execute(async (trx) => sql`SELECT 1`.execute(trx)), { isolation: 'serializable' });
    });

    it("pg's callback forms on db.pool answer through the callback and never crash the process", async () => {
      const viaPool = await new Promise<number>((resolve, reject) => db.pool.query('SELECT 1 AS one', (err: Error | null, r?: { rows: { one: number }[] }) => (err ? reject(err) : resolve(r!.rows[0].one))) as unknown);
      expect(viaPool).to.equal(1);
      const failed = await new Promise<Error | null>((resolve) => db.pool.query('SELECT nope', [], (err: Error | null) => resolve(err)) as unknown);
      expect(failed).to.be.instanceOf(Error);
      await db.transaction(async () => {
        const client = await new Promise<any>((resolve, reject) => db.pool.connect((err, c) => (err ? reject(err) : resolve(c))));
        const one = await new Promise<number>((resolve, reject) => client.query('SELECT 1 AS one', (err: Error | null, r?: { rows: { one: number }[] }) => (err ? reject(err) : resolve(r!.rows[0].one))));
        client.release();
        expect(one).to.equal(1);
      });
      expect(await rejection(db.pool.query('SELECT $1::int', 5 as never))).to.be.instanceOf(TypeError);
    });

    it('withRollback: a hidden COMMIT inside it is reported (what it committed cannot be undone); a statement it leaves behind fails', async () => {
      const hidden = await rejection(
        withRollback(db, async () => {
          await db.query(`INSERT INTO ${T} (name) VALUES ('before')`);
          await db.query('/* sneaky */ COMMIT');
        }),
      );
      expect(hidden).to.be.instanceOf(TransactionAbortedError);
      await db.query(`DELETE FROM ${T}`);
      let late!: Promise<unknown>;
      await withRollback(db, async () => {
        await db.query(`INSERT INTO ${T} (name) VALUES ('test row')`);
        late = sleep(30).then(() => db.query(`INSERT INTO ${T} (name) VALUES ('late')`));
      });
      expect(await rejection(late)).to.be.instanceOf(TransactionAbortedError);
      expect(await names()).to.deep.equal([]);
    });
  });
}

describe('Database: the checked-COMMIT marker cannot be forged by a session-level value (PostgreSQL 15 server)', () => {
  it('a webtool.tx left at session level by an earlier request does not hide a raw ROLLBACK', async function () {
    this.timeout(30_000);
    const { db, drop } = await openTestDatabase('pg');
    try {
      const T = uniqueName('marker');
      await db.query(`CREATE TABLE ${T} (name text)`);
      // One connection, so the next transaction surely gets the poisoned session.
      const one = new Database({ primary: (db.primary as unknown as { pool: { options: { connectionString: string } } }).pool.options.connectionString, maxConnections: 1 });
      try {
        // At session level, outside a transaction: it outlives the statement, on the one pooled connection.
        await one.query(`SELECT set_config('webtool.tx', '1', false)`);
        const err = await rejection(
          one.transaction(async () => {
            await one.query(`INSERT INTO ${T} VALUES ('lost')`);
            await one.query('/* x */ ROLLBACK');
            await one.query(`INSERT INTO ${T} VALUES ('autocommitted')`);
          }),
        );
        expect(err).to.be.instanceOf(TransactionAbortedError);
      } finally {
        await one.close();
      }
    } finally {
      await db.close();
      await drop?.();
    }
  });
});
