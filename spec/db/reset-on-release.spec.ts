import { expect } from 'chai';
import { Database } from '../../src';
import { createTestDatabase } from './support';

describe('Database resetOnRelease (PostgreSQL 15 server)', function () {
  this.timeout(30_000);
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  before(async () => {
    pg = await createTestDatabase();
  });
  after(async () => pg.drop());

  /** One request leaves session state behind; the next request on the (single) pooled connection reads it. */
  async function leaked(options: { resetOnRelease?: boolean }): Promise<unknown[]> {
    const db = new Database({ primary: pg.url, maxConnections: 1, ...options });
    try {
      await db.query(`SELECT set_config('app.user_id', '42', false)`);
      await db.transaction(async () => db.query(`SET search_path TO pg_catalog`));
      const user = (await db.query(`SELECT current_setting('app.user_id', true) AS v`)).rows[0].v;
      const path = (await db.query('SHOW search_path')).rows[0].search_path;
      return [user, path];
    } finally {
      await db.close();
    }
  }

  it('by default, session-level settings leak to the next user of the pooled connection (what the README warns about)', async () => {
    expect(await leaked({})).to.deep.equal(['42', 'pg_catalog']);
  });

  it('resetOnRelease: true discards them (DISCARD ALL) before the connection goes back to the pool', async () => {
    const [user, path] = await leaked({ resetOnRelease: true });
    expect(user === null || user === '').to.equal(true);
    expect(path).to.equal('"$user", public');
  });
});
