import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Database, transactional } from '../../src';
import { createTestDatabase } from './support';

describe('Database with read replicas (a second pool on the same server stands for the replica)', function () {
  this.timeout(30_000);
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  const withName = (name: string) => {
    const url = new URL(pg.url);
    url.searchParams.set('application_name', name);
    return url.toString();
  };
  const where = (tx: { query: Database['query'] }) => tx.query("SELECT current_setting('application_name') AS app").then((r) => r.rows[0].app as string);

  before(async () => {
    pg = await createTestDatabase();
    db = new Database({ primary: withName('primary'), replicas: [withName('replica')] });
  });
  after(async () => {
    await db.close();
    await pg.drop();
  });

  it('read-only transactions go to the replica, the others to the primary', async () => {
    expect(await db.transaction(where, { readOnly: true })).to.equal('replica');
    expect(await db.transaction(where)).to.equal('primary');
    expect(await db.query("SELECT current_setting('application_name') AS app").then((r) => r.rows[0].app)).to.equal('primary');
  });

  it('after a write the request sticks to the primary (reads its own writes)', async () => {
    const app = express();
    app.use(transactional(db));
    app.get('/read-then-write', async (req, res) => {
      const before = await db.transaction(where, { propagation: 'requires_new', readOnly: true });
      await db.query('SELECT 1');
      const after = await db.transaction(where, { propagation: 'requires_new', readOnly: true });
      res.json({ before, after });
    });
    const { body } = await request(app).get('/read-then-write').expect(200);
    expect(body).to.deep.equal({ before: 'replica', after: 'primary' });
  });

  it('health() reports the replica', async () => {
    const health = await db.health();
    expect(health.ok).to.equal(true);
    expect(health.replicas).to.have.length(1);
    expect(health.replicas[0].ok).to.equal(true);
  });
});
