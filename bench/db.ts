/**
 * A bounded DB overhead measurement (not part of `npm run bench`): the same route answered with a raw pg
 * transaction (connect/BEGIN/SELECT 1/COMMIT/release) and through webtool's `transactional()` scope with
 * Kysely on `db.pool`. Interleaved rounds, medians, ratio scoped/raw. Loopback only; about 2·ROUNDS·SECONDS s.
 * Run: node -r ts-node/register/transpile-only bench/db.ts   (DATABASE_URL, BENCH_ROUNDS, BENCH_SECONDS)
 */
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import express from 'express';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { Database, transactional } from '../src';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 5), 10);
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 2), 10);

async function main() {
  const raw = new Pool({ connectionString: URL, max: 10 });
  const db = new Database({ primary: URL });
  const k = new Kysely<any>({ dialect: new PostgresDialect({ pool: db.pool as any }) });

  const rawApp = express();
  rawApp.get('/', async (req, res) => {
    const client = await raw.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT 1 AS one');
      await client.query('COMMIT');
      res.json(rows[0]);
    } finally {
      client.release();
    }
  });
  const scopedApp = express();
  scopedApp.use(transactional(db));
  scopedApp.get('/', async (req, res) => {
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(k);
    res.json(rows[0]);
  });

  const servers = [rawApp, scopedApp].map((app) => app.listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
  const [rawPort, scopedPort] = servers.map((s) => (s.address() as AddressInfo).port);
  const run = async (port: number) => (await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: SECONDS })).requests.average;

  const results: { raw: number; scoped: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await run(rawPort);
    const s = await run(scopedPort);
    results.push({ raw: r, scoped: s });
    console.log(`round ${i + 1}: raw ${r.toFixed(0)} req/s, scoped+Kysely ${s.toFixed(0)} req/s, ratio ${(s / r).toFixed(3)}`);
  }
  const ratios = results.map((x) => x.scoped / x.raw).sort((a, b) => a - b);
  console.log(`median ratio scoped/raw: ${ratios[Math.floor(ratios.length / 2)].toFixed(3)}`);
  servers.forEach((s) => s.close());
  await k.destroy();
  await db.close();
  await raw.end();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
