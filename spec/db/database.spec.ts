import { Database, PGliteDriver } from '../../src';
import { databaseContract } from './database.contract';
import { createTestDatabase, sharedPGlite } from './support';

let pg: Awaited<ReturnType<typeof createTestDatabase>>;
describe('Database (PostgreSQL 15 server)', () => {
  before(async () => {
    pg = await createTestDatabase();
  });
  after(async () => pg.drop());
  databaseContract({ name: 'pg', singleConnection: false, make: async (o = {}) => new Database({ primary: pg.url, ...o }) });
});

describe('Database (PGlite)', () => {
  before(async function () {
    this.timeout(60_000);
    await sharedPGlite();
  });
  databaseContract({ name: 'PGlite', singleConnection: true, make: async (o = {}) => new Database({ primary: new PGliteDriver({ instance: sharedPGlite() }), ...o }) });
});
