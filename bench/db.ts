/**
 * The DB figures of `npm run bench` (also runnable alone): the same route answered with a raw pg
 * transaction (connect/BEGIN/SELECT 1/COMMIT/release), with Kysely's own transaction on a plain pg pool
 * (what a Kysely user writes without webtool), and through webtool's `transactional()` scope with Kysely
 * on `db.pool`. Interleaved rounds, medians, ratios to raw pg and to Kysely alone. Loopback only; about
 * 3·ROUNDS·SECONDS s.
 * Run: node -r ts-node/register/transpile-only bench/db.ts   (DATABASE_URL, BENCH_ROUNDS, BENCH_SECONDS)
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { Database, transactional } from '../src';
import { cpuMicros } from './cpu';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 5), 10);
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 2), 10);

/** Interleaved rounds of raw pg vs scoped Kysely on one route; the ratio scoped/raw per round. */
export async function dbOverhead(): Promise<{
  medianRatio: number;
  minRatio: number;
  maxRatio: number;
  rawRps: number;
  scopedRps: number;
  kyselyRps: number;
  kyselyRatio: number;
  scopedToKyselyRatio: number;
}> {
  const raw = new Pool({ connectionString: URL, max: 10 });
  const plain = new Pool({ connectionString: URL, max: 10 });
  const kPlain = new Kysely<any>({ dialect: new PostgresDialect({ pool: plain }) });
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
  const kyselyApp = express();
  kyselyApp.get('/', async (req, res) => {
    const row = await kPlain.transaction().execute(async (trx) => (await sql<{ one: number }>`SELECT 1 AS one`.execute(trx)).rows[0]);
    res.json(row);
  });
  const scopedApp = express();
  scopedApp.use(transactional(db));
  scopedApp.get('/', async (req, res) => {
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(k);
    res.json(rows[0]);
  });

  const servers = [rawApp, kyselyApp, scopedApp].map((app) => app.listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
  const [rawPort, kyselyPort, scopedPort] = servers.map((s) => (s.address() as AddressInfo).port);
  const run = async (port: number) => (await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: SECONDS })).requests.average;

  const results: { raw: number; kysely: number; scoped: number }[] = [];
  for (const port of [rawPort, kyselyPort, scopedPort]) await run(port); // warm-up: JIT and pools
  for (let i = 0; i < ROUNDS; i++) {
    const r = await run(rawPort);
    // The two Kysely variants in random order after raw pg.
    const [first, second] = Math.random() < 0.5 ? [kyselyPort, scopedPort] : [scopedPort, kyselyPort];
    const a = await run(first);
    const b = await run(second);
    const [k, s] = first === kyselyPort ? [a, b] : [b, a];
    results.push({ raw: r, kysely: k, scoped: s });
    console.log(`db round ${i + 1}: raw ${r.toFixed(0)} req/s, Kysely alone ${k.toFixed(0)} (${(k / r).toFixed(3)}), scoped+Kysely ${s.toFixed(0)} req/s, ratio ${(s / r).toFixed(3)}`);
  }
  const ratios = results.map((x) => x.scoped / x.raw).sort((a, b) => a - b);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  servers.forEach((s) => s.close());
  await kPlain.destroy();
  await k.destroy();
  await db.close();
  await raw.end();
  return {
    medianRatio: Number(median(ratios).toFixed(2)),
    minRatio: Number(ratios[0].toFixed(2)),
    maxRatio: Number(ratios[ratios.length - 1].toFixed(2)),
    rawRps: Math.round(median(results.map((x) => x.raw))),
    scopedRps: Math.round(median(results.map((x) => x.scoped))),
    kyselyRps: Math.round(median(results.map((x) => x.kysely))),
    kyselyRatio: Number(median(results.map((x) => x.kysely / x.raw)).toFixed(2)),
    scopedToKyselyRatio: Number(median(results.map((x) => x.scoped / x.kysely)).toFixed(2)),
  };
}

/** `npm start` on PGlite: wall time and CPU seconds until its first DB answer (POST /users → 201). */
export async function firstDbAnswer(): Promise<{ wallS: number; cpuS: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'examples', 'app.ts')], {
    env: { ...process.env, DATABASE_URL: '', PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start did not listen within 120 s')), 120_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        const m = /http:\/\/[\d.]+:\d+/.exec(String(chunk));
        if (m) (clearTimeout(timer), resolve(m[0]));
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}`)));
    });
    const res = await fetch(`${url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'first', password: 'first password' }) });
    if (res.status !== 201) throw new Error(`POST /users answered ${res.status}`);
    return { wallS: Number(((performance.now() - started) / 1000).toFixed(1)), cpuS: Number((cpuMicros([child.pid!]) / 1e6).toFixed(1)) };
  } finally {
    child.kill();
  }
}

if (require.main === module) {
  dbOverhead()
    .then(async (overhead) => console.log({ overhead, firstDbAnswer: await firstDbAnswer() }))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
