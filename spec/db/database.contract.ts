/**
 * @module The behaviour every driver must give `Database`: run against pg (PostgreSQL 15) and PGlite
 * (PostgreSQL 18) by database.spec.ts.
 */
import { expect } from 'chai';
import { Kysely, PostgresDialect, sql } from 'kysely';
import {
  Database,
  SerializationError,
  TransactionAbortedError,
  TransactionPropagationError,
} from '../../src';
import { memoryLogger, uniqueName } from './support';

export interface ContractTarget {
  name: string;
  /** Builds a Database on the driver under test. */
  make(options?: { logger?: ReturnType<typeof memoryLogger> }): Promise<Database>;
  singleConnection: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export function databaseContract(target: ContractTarget): void {
  describe(`Database on ${target.name}`, function () {
    this.timeout(30_000);
    let db: Database;
    let T: string;
    const names = async () => (await db.query<{ name: string }>(`SELECT name FROM ${T} ORDER BY id`)).rows.map((r) => r.name);
    const insert = (name: string) => db.query(`INSERT INTO ${T} (name) VALUES ($1)`, [name]);

    before(async () => {
      db = await target.make();
    });
    after(async () => db.close());
    beforeEach(async () => {
      T = uniqueName('items');
      await db.query(`CREATE TABLE ${T} (id serial PRIMARY KEY, name text UNIQUE, n int NOT NULL DEFAULT 0)`);
    });
    afterEach(async () => {
      await db.query(`DROP TABLE IF EXISTS ${T}`);
    });

    describe('propagation', () => {
      it('required: commits when fn returns, rolls back when it throws', async () => {
        await db.transaction(() => insert('a'));
        const err = await rejection(db.transaction(async () => {
          await insert('b');
          throw new Error('boom');
        }));
        expect(err.message).to.equal('boom');
        expect(await names()).to.deep.equal(['a']);
      });

      it('required inside a transaction joins it: an error caught by the outer scope still rolls everything back', async () => {
        const err = await rejection(db.transaction(async () => {
          await insert('outer');
          await db.transaction(async () => {
            await insert('inner');
            throw new Error('inner failed');
          }).catch(() => undefined);
        }));
        expect(err).to.be.instanceOf(TransactionAbortedError);
        expect(err.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
        expect(err.status).to.equal(409);
        expect(err.cause.message).to.equal('inner failed');
        expect(await names()).to.deep.equal([]);
      });

      it('nested: a savepoint; its failure rolls back only its own work', async () => {
        await db.transaction(async () => {
          await insert('kept');
          await db.transaction(async () => {
            await insert('dropped');
            throw new Error('nested failed');
          }, { propagation: 'nested' }).catch(() => undefined);
          await db.transaction(() => insert('kept too'), { propagation: 'nested' });
        });
        expect(await names()).to.deep.equal(['kept', 'kept too']);
      });

      it('nested outside a transaction starts one', async () => {
        await db.transaction(async () => {
          expect(db.inTransaction()).to.equal(true);
          await insert('a');
        }, { propagation: 'nested' });
        expect(await names()).to.deep.equal(['a']);
      });

      it('supports: joins a running transaction, runs without one otherwise', async () => {
        await db.transaction(() => expect(db.inTransaction()).to.equal(false), { propagation: 'supports' });
        await rejection(db.transaction(async () => {
          await db.transaction(() => insert('joined'), { propagation: 'supports' });
          throw new Error('outer failed');
        }));
        expect(await names()).to.deep.equal([]);
      });

      it('mandatory: fails with ERR_WT_DB_PROPAGATION outside a transaction, joins inside', async () => {
        const err = await rejection(db.transaction(() => insert('x'), { propagation: 'mandatory' }));
        expect(err).to.be.instanceOf(TransactionPropagationError);
        expect(err.code).to.equal('ERR_WT_DB_PROPAGATION');
        await db.transaction(() => db.transaction(() => insert('in'), { propagation: 'mandatory' }));
        expect(await names()).to.deep.equal(['in']);
      });

      it('never: fails inside a transaction, runs without one outside', async () => {
        await db.transaction(() => expect(db.inTransaction()).to.equal(false), { propagation: 'never' });
        const err = await rejection(db.transaction(() => db.transaction(() => 1, { propagation: 'never' })));
        expect(err.code).to.equal('ERR_WT_DB_PROPAGATION');
      });

      if (target.singleConnection) {
        it('requires_new and not_supported inside a transaction fail fast on the single connection instead of hanging', async () => {
          for (const propagation of ['requires_new', 'not_supported'] as const) {
            const started = performance.now();
            const err = await rejection(db.transaction(async () => {
              await insert(propagation);
              await db.transaction(() => insert('never'), { propagation });
            }));
            expect(performance.now() - started).to.be.lessThan(1000);
            expect(err).to.be.instanceOf(TransactionPropagationError);
            expect(err.message).to.contain('PGlite');
          }
          expect(await names()).to.deep.equal([]);
        });

        it('requires_new fails within 10 ms', async () => {
          await db.transaction(async () => {
            await insert('held');
            const started = performance.now();
            await rejection(db.transaction(() => 1, { propagation: 'requires_new' }));
            expect(performance.now() - started).to.be.lessThan(10);
          });
        });
      } else {
        it('requires_new: an independent transaction that commits even when the outer one rolls back', async () => {
          await rejection(db.transaction(async () => {
            await insert('outer');
            await db.transaction(() => insert('independent'), { propagation: 'requires_new' });
            throw new Error('outer failed');
          }));
          expect(await names()).to.deep.equal(['independent']);
        });

        it('not_supported: runs outside the transaction (autocommit), which stays open around it', async () => {
          await rejection(db.transaction(async () => {
            await insert('outer');
            await db.transaction(async () => {
              expect(db.inTransaction()).to.equal(false);
              await insert('autocommit');
            }, { propagation: 'not_supported' });
            expect(db.inTransaction()).to.equal(true);
            throw new Error('outer failed');
          }));
          expect(await names()).to.deep.equal(['autocommit']);
        });
      }
    });

    describe('checked COMMIT', () => {
      it('a statement error swallowed by the caller ends in TransactionAbortedError, and nothing is committed', async () => {
        const err = await rejection(db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${T} (name) VALUES ('a')`);
          await tx.query(`INSERT INTO ${T} (name) VALUES ('a')`).catch(() => undefined); // 23505, swallowed
        }));
        expect(err).to.be.instanceOf(TransactionAbortedError);
        expect(err.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
        expect(err.cause.code).to.equal('23505');
        expect(await names()).to.deep.equal([]);
      });

      it('a swallowed error inside a nested scope fails that savepoint only', async () => {
        await db.transaction(async () => {
          await insert('kept');
          const err = await rejection(db.transaction(async () => {
            await insert('kept');
          }, { propagation: 'nested' }).then(() => 'ok'));
          expect(err.cause?.code ?? err.code).to.equal('23505');
        }).catch(() => undefined);
        // The nested scope's own 23505 escaped it, so the outer scope saw an error and could recover:
        await db.transaction(async () => {
          await db.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${T} (name) VALUES ('x')`);
            await tx.query(`INSERT INTO ${T} (name) VALUES ('x')`).catch(() => undefined);
          }, { propagation: 'nested' }).catch((e) => expect(e).to.be.instanceOf(TransactionAbortedError));
          await insert('after');
        });
        expect(await names()).to.include('after').and.not.include('x');
      });
    });

    describe('retry', () => {
      it('retries 40001 on the outermost scope with a fresh transaction; hooks of the failed attempt never run', async () => {
        let runs = 0;
        const fired: number[] = [];
        const result = await db.transaction(async () => {
          const run = ++runs;
          await insert(`run ${run}`);
          db.afterCommit(() => fired.push(run));
          if (run < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
          return run;
        }, { retry: { attempts: 5, baseMs: 1, maxMs: 5 } });
        expect(result).to.equal(3);
        expect(fired).to.deep.equal([3]);
        expect(await names()).to.deep.equal(['run 3']);
      });

      it('gives up after `attempts` with SerializationError (409) holding the 40001 as cause', async () => {
        let runs = 0;
        const err = await rejection(db.transaction(() => {
          runs++;
          throw Object.assign(new Error('deadlock'), { code: '40P01' });
        }, { retry: { attempts: 3, baseMs: 0, maxMs: 0 } }));
        expect(runs).to.equal(3);
        expect(err).to.be.instanceOf(SerializationError);
        expect(err.code).to.equal('ERR_WT_DB_SERIALIZATION');
        expect(err.status).to.equal(409);
        expect(err.attempts).to.equal(3);
        expect(err.cause.code).to.equal('40P01');
      });

      it('never retries a unique violation (23505), nor an inner (joined) scope', async () => {
        await insert('taken');
        let runs = 0;
        const err = await rejection(db.transaction(async () => {
          runs++;
          await insert('taken');
        }));
        expect(runs).to.equal(1);
        expect(err.code).to.equal('23505');
        let inner = 0;
        await rejection(db.transaction(async () => {
          await db.transaction(() => {
            inner++;
            throw Object.assign(new Error('serialize'), { code: '40001' });
          });
        }, { retry: false }));
        expect(inner).to.equal(1);
      });
    });

    describe('hooks', () => {
      it('afterCommit hooks run once, in order, awaited, after COMMIT; afterRollback hooks get the error', async () => {
        const events: string[] = [];
        await db.transaction(async () => {
          await insert('a');
          db.afterCommit(async () => {
            await sleep(20);
            events.push('first');
          });
          db.afterCommit(() => events.push('second'));
          db.afterRollback(() => events.push('never'));
          events.push('body');
        });
        events.push('returned');
        expect(events).to.deep.equal(['body', 'first', 'second', 'returned']);
        const err = await rejection(db.transaction(async () => {
          db.afterCommit(() => events.push('after commit of a rolled back tx'));
          db.afterRollback((e) => events.push(`rollback: ${(e as Error).message}`));
          throw new Error('x');
        }));
        expect(err.message).to.equal('x');
        expect(events.slice(4)).to.deep.equal(['rollback: x']);
      });

      it('a hook is seen committed data; hooks of a rolled-back savepoint are dropped, of a released one kept', async () => {
        const seen: string[][] = [];
        await db.transaction(async () => {
          await insert('a');
          db.afterCommit(async () => seen.push(await names()));
          await db.transaction(async () => {
            db.afterCommit(() => seen.push(['dropped']));
            throw new Error('sp');
          }, { propagation: 'nested' }).catch(() => undefined);
          await db.transaction(() => db.afterCommit(() => seen.push(['kept'])), { propagation: 'nested' });
        });
        expect(seen).to.deep.equal([['a'], ['kept']]);
      });

      it('a failing hook is logged and does not fail the committed transaction; later hooks still run', async () => {
        const logger = memoryLogger();
        const other = await target.make({ logger });
        try {
          let ran = false;
          const result = await other.transaction(async () => {
            await other.query(`INSERT INTO ${T} (name) VALUES ('committed')`);
            other.afterCommit(() => {
              throw new Error('hook failed');
            });
            other.afterCommit(() => (ran = true));
            return 'ok';
          });
          expect(result).to.equal('ok');
          expect(ran).to.equal(true);
          expect(logger.lines.join('\n')).to.contain('afterCommit hook failed').and.contain('hook failed');
        } finally {
          await other.close();
        }
        expect(await names()).to.deep.equal(['committed']);
      });
    });

    describe('context', () => {
      it('the transaction survives Promise.all and timers', async () => {
        await rejection(db.transaction(async () => {
          await Promise.all([insert('a'), insert('b'), new Promise((r) => setTimeout(r, 5)).then(() => insert('c'))]);
          await new Promise<void>((resolve, reject) => setTimeout(() => insert('d').then(() => resolve(), reject), 5));
          expect((await names()).sort()).to.deep.equal(['a', 'b', 'c', 'd']);
          throw new Error('roll back');
        }));
        expect(await names()).to.deep.equal([]);
      });
    });

    describe('options', () => {
      it('isolation, readOnly and timeoutMs reach the server', async () => {
        const level = await db.transaction(async (tx) => (await tx.query('SHOW transaction_isolation')).rows[0].transaction_isolation, { isolation: 'serializable' });
        expect(level).to.equal('serializable');
        const err = await rejection(db.transaction(() => insert('x'), { readOnly: true }));
        expect(err.code).to.equal('25006');
        const timeout = await db.transaction(async (tx) => (await tx.query('SHOW statement_timeout')).rows[0].statement_timeout, { timeoutMs: 1500 });
        expect(timeout).to.equal('1500ms');
      });

      it('rejects bad options with InvalidOptionError naming the option', async () => {
        const err = await rejection(db.transaction(() => 1, { isolation: 'chaos' as never }));
        expect(err.code).to.equal('ERR_WT_INVALID_OPTION');
        expect(err.option).to.equal('isolation');
        let bad: any;
        try {
          new Database({ primary: 'mysql://x:secret@h/db' });
        } catch (e) {
          bad = e;
        }
        expect(bad.option).to.equal('primary');
        expect(bad.message + JSON.stringify(bad)).to.not.contain('secret');
      });
    });

    describe('db.pool (Kysely PostgresDialect)', () => {
      it('Kysely statements join the current transaction, and its transaction() becomes a savepoint', async () => {
        const k = new Kysely<any>({ dialect: new PostgresDialect({ pool: db.pool as any }) });
        await rejection(db.transaction(async () => {
          await k.insertInto(T).values({ name: 'k1' }).execute();
          expect((await names())).to.deep.equal(['k1']);
          throw new Error('roll back');
        }));
        expect(await names()).to.deep.equal([]);
        await db.transaction(async () => {
          await k.insertInto(T).values({ name: 'outer' }).execute();
          await k.transaction().execute(async (trx) => {
            await trx.insertInto(T).values({ name: 'sp' }).execute();
            throw new Error('inner');
          }).catch(() => undefined);
          await k.transaction().execute((trx) => trx.insertInto(T).values({ name: 'sp2' }).execute());
          expect(db.inTransaction()).to.equal(true);
        });
        expect(await names()).to.deep.equal(['outer', 'sp2']);
        const { rows } = await sql<{ one: number }>`select 1 as one`.execute(k);
        expect(rows).to.deep.equal([{ one: 1 }]);
        await k.destroy();
      });
    });

    describe('health()', () => {
      it('reports select-1 latency and pool figures', async () => {
        const health = await db.health();
        expect(health.ok).to.equal(true);
        expect(health.primary.latencyMs).to.be.a('number').and.at.least(0);
        expect(health.primary.maxConnections).to.equal(target.singleConnection ? 1 : 10);
        expect(health.primary.waitingCount).to.equal(0);
        expect(health.activeTransactions).to.equal(0);
      });
    });
  });
}
