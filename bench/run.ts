/**
 * `npm run bench`: webtool against bare Express and the libraries users would pick instead, measured
 * side by side on this machine: interleaved rounds, medians, ratios to bare Express of the same round.
 * Everything targets loopback and a private redis-server this script starts; every child process is
 * bounded in time and killed on exit. Writes bench/results/latest.{json,md}.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import http from 'node:http';
import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { InMemoryCache, RedisCache, RedisJWTService, RedisStore, makeEdKey } from '../src';
import { createRule, ruleKey } from '../src/throttle/rule';
import { parseJWTOptions } from '../src/auth/jwt/options';
import { newTokenId, signToken } from '../src/auth/jwt/sign';
import { startPrivateRedis, type PrivateRedis } from '../spec/support/redis';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;
const TS_NODE = ['-r', 'ts-node/register/transpile-only'];
const children = new Set<ChildProcess>();

interface Variant {
  name: string;
  label: string;
  auth?: 'token' | 'fresh' | 'cookie';
  redis?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'bare', label: '1 bare Express' },
  { name: 'erl-memory', label: '2 express-rate-limit (memory)' },
  { name: 'erl-redis', label: '3 express-rate-limit + rate-limit-redis', redis: true },
  { name: 'rlf-redis', label: '4 rate-limiter-flexible Redis', redis: true },
  { name: 'jose', label: '5 jose EdDSA verify', auth: 'token' },
  { name: 'webtool-anno-redis', label: '6 webtool anonymous (cookie), Redis', auth: 'cookie', redis: true },
  { name: 'webtool-user-redis', label: '7 webtool user (EdDSA token reused), Redis', auth: 'token', redis: true },
  { name: 'webtool-user-redis-fresh', label: '7b webtool user (fresh token each request), Redis', auth: 'fresh', redis: true },
  { name: 'webtool-user-redis-log', label: '7c webtool user, Redis, sliding log (default)', auth: 'token', redis: true },
  { name: 'webtool-user-memory', label: '8 webtool user, InMemoryCache', auth: 'token' },
  { name: 'jose-rlf-redis', label: '9 jose verify + rate-limiter-flexible Redis', auth: 'token', redis: true },
  { name: 'jose-evalsha', label: '10 jose verify + one hand-written EVALSHA', auth: 'token', redis: true },
  { name: 'webtool-unlimited-redis', label: '11 webtool middleware, unlimited route, Redis', auth: 'token', redis: true },
];

function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
// The whole run is bounded.
setTimeout(() => {
  console.error('bench: time limit (15 min) reached');
  process.exit(1);
}, 15 * 60_000).unref();

async function startServer(variant: string, redisUrl: string, key: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...TS_NODE, join(__dirname, 'server.ts'), variant, redisUrl], {
    env: { ...process.env, BENCH_KEY: key, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} did not start`)), 30_000);
    lines.on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        children.delete(child);
      }),
  };
}

interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  tokensUsed: number;
}

function load(options: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_NODE, join(__dirname, 'load.ts'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

function get(port: number, headers: Record<string, string>): Promise<{ status: number; setCookie?: string[] }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] }));
      })
      .on('error', reject);
  });
}

/** Commands clients SENT per request (script-internal calls excluded), over 200 sequential requests. */
async function commandsPerRequest(redisUrl: string, port: number, headers: Record<string, string>): Promise<number> {
  const admin = new Redis(redisUrl);
  const monitor = await admin.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua' && !['info', 'monitor', 'ping', 'client'].includes(String(args[0]).toLowerCase())) sent++;
  });
  await new Promise((r) => setTimeout(r, 100));
  const requests = 200;
  for (let i = 0; i < requests; i++) await get(port, headers);
  await new Promise((r) => setTimeout(r, 200));
  monitor.disconnect();
  admin.disconnect();
  return sent / requests;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function memoryPerIdentity(redisUrl: string): Promise<Record<string, number>> {
  const client = new Redis(redisUrl);
  const store = new RedisStore(client, { timeoutMs: 5000 });
  const out: Record<string, number> = {};
  const cases: [string, 'gcra' | 'sliding-log', number][] = [
    ['gcra', 'gcra', 1],
    ['sliding-log, 1 request in window', 'sliding-log', 1],
    ['sliding-log, 10 requests in window', 'sliding-log', 10],
  ];
  for (const [label, algorithm, requests] of cases) {
    await client.flushall();
    const before = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    const rule = createRule(1000, 3600, [], { algorithm });
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const key = ruleKey('wt:', `u:user-${i + j}`, 'ApiController.resource', rule);
          for (let r = 0; r < requests; r++) await store.consume([{ key, limit: 1000, windowMs: 3_600_000, cost: 1, algorithm }]);
        }),
      );
    }
    const after = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    out[label] = Math.round((after - before) / 10_000);
  }
  // The same measure for a peer's fixed window (rate-limiter-flexible: one counter key per identity).
  await client.flushall();
  const before = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
  const peer = new RateLimiterRedis({ storeClient: client, points: 1000, duration: 3600 });
  for (let i = 0; i < 10_000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => peer.consume(`user-${i + j}`)));
  const after = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
  out['rate-limiter-flexible fixed window (peer)'] = Math.round((after - before) / 10_000);
  const sample = ruleKey('wt:', 'u:user-1234', 'ApiController.resource', createRule(1000, 3600, [], { algorithm: 'gcra' }));
  await store.consume([{ key: sample, limit: 1000, windowMs: 3_600_000, cost: 1, algorithm: 'gcra' }]);
  out['gcra, MEMORY USAGE of one key'] = Number(await client.call('MEMORY', 'USAGE', sample));
  await client.flushall();
  await client.quit();
  return out;
}

async function tokenThroughput(redisUrl: string, key: string): Promise<Record<string, number>> {
  const cache = new RedisCache(redisUrl, { keyPrefix: 'tokbench:' });
  const jwt = new RedisJWTService(cache, { secretKey: key });
  await jwt.ready;
  const out: Record<string, number> = {};
  const run = async (label: string, op: (i: number) => Promise<unknown>, ms = 2000) => {
    let done = 0;
    const deadline = Date.now() + ms;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() < deadline) await op(done++);
      }),
    );
    out[label] = Math.round(done / (ms / 1000));
  };
  const pairs: [string, string][] = [];
  await run('createToken', async (i) => {
    const pair = await jwt.createToken({ sub: `s${i % 1000}` });
    if (pairs.length < 200_000) pairs.push(pair);
  });
  await run('validateAccessToken (same token, verified once)', () => jwt.validateAccessToken(pairs[0][0]));
  await run('validateAccessToken (distinct tokens)', (i) => jwt.validateAccessToken(pairs[i % pairs.length][0]));
  let next = 0;
  await run('updateToken', async () => {
    const i = next++;
    if (i >= pairs.length) return;
    await jwt.updateToken({ sub: `s${i % 1000}` }, pairs[i][1]);
  });
  await jwt.close();
  await cache.client.flushall();
  await cache.close();
  return out;
}

function versions(redisUrl: string): Record<string, string> {
  const pkg = (name: string) => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(`${name}/package.json`).version as string;
    } catch {
      return '?';
    }
  };
  let redis = '?';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
  } catch {
    /* not installed */
  }
  return {
    node: process.version,
    redis,
    express: pkg('express'),
    jose: pkg('jose'),
    ioredis: pkg('ioredis'),
    'express-rate-limit': pkg('express-rate-limit'),
    'rate-limit-redis': pkg('rate-limit-redis'),
    'rate-limiter-flexible': pkg('rate-limiter-flexible'),
    autocannon: pkg('autocannon'),
    webtool: pkg('..'),
    redisUrl: redisUrl.replace(/\/\/.*@/, '//'),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const redis: PrivateRedis = await startPrivateRedis();
  const key = makeEdKey();
  // Valid webtool access tokens (also valid EdDSA JWTs for the jose-only variants).
  const config = parseJWTOptions({ secretKey: key });
  const sign = (sub: string) => signToken(config, { claims: { sub }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat: Math.floor(Date.now() / 1000), ttlS: 3600 });
  const token = await sign('bench-user');
  const fresh: string[] = [];
  for (let i = 0; i < 60_000; i++) fresh.push(await sign(`fresh-${i % 50}`));
  const tokensFile = join(tmpdir(), `webtool-bench-tokens-${process.pid}.txt`);
  writeFileSync(tokensFile, fresh.join('\n'));
  void InMemoryCache;

  const results: Record<string, { rps: number[]; ratio: number[]; p99: number[]; non2xx: number; cmds?: number; tokensUsed?: number; total?: number }> = {};
  for (const v of VARIANTS) results[v.name] = { rps: [], ratio: [], p99: [], non2xx: 0 };

  for (let round = 1; round <= ROUNDS; round++) {
    let bareRps = 0;
    for (const v of VARIANTS) {
      const server = await startServer(v.name, redis.url, key);
      try {
        const headers: Record<string, string> = {};
        if (v.auth === 'token') headers.authorization = `Bearer ${token}`;
        if (v.auth === 'cookie') headers.cookie = ((await get(server.port, {})).setCookie?.[0] ?? '').split(';')[0];
        const base = { url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, headers };
        await load({ ...base, durationS: 1, ...(v.auth === 'fresh' ? { tokensFile } : {}) }); // warm-up
        const r = await load({ ...base, durationS: DURATION_S, ...(v.auth === 'fresh' ? { tokensFile } : {}) });
        if (v.name === 'bare') bareRps = r.rps;
        const entry = results[v.name];
        entry.rps.push(r.rps);
        entry.p99.push(r.p99);
        entry.ratio.push(r.rps / bareRps);
        entry.non2xx += r.non2xx + r.errors + r.timeouts;
        entry.tokensUsed = r.tokensUsed;
        entry.total = r.total;
        if (round === ROUNDS && v.redis) entry.cmds = await commandsPerRequest(redis.url, server.port, v.auth === 'fresh' ? { authorization: `Bearer ${token}` } : headers);
        console.log(`round ${round} ${v.label.padEnd(52)} ${Math.round(r.rps).toString().padStart(6)} req/s  ratio ${(r.rps / bareRps).toFixed(2)}  p99 ${r.p99} ms`);
      } finally {
        await server.stop();
      }
    }
  }

  // Paced run: p99 at a fixed 1,900 req/s.
  const paced: Record<string, number> = {};
  for (const name of ['webtool-user-redis', 'rlf-redis', 'jose-rlf-redis']) {
    const server = await startServer(name, redis.url, key);
    try {
      const headers = { authorization: `Bearer ${token}` };
      await load({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, durationS: 1, headers });
      const r = await load({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, durationS: 5, headers, rate: 1900 });
      paced[name] = r.p99;
    } finally {
      await server.stop();
    }
  }

  const memory = await memoryPerIdentity(redis.url);
  const tokens = await tokenThroughput(redis.url, key);
  await redis.stop();

  const rows = VARIANTS.map((v) => ({
    variant: v.label,
    ratio: Number(median(results[v.name].ratio).toFixed(2)),
    rps: Math.round(median(results[v.name].rps)),
    p99Ms: median(results[v.name].p99),
    redisCommandsPerRequest: results[v.name].cmds === undefined ? null : Number(results[v.name].cmds!.toFixed(2)),
    failedRequests: results[v.name].non2xx,
  }));
  const machine = { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), date: new Date().toISOString() };
  const report = { machine, versions: versions(redis.url), method: { rounds: ROUNDS, durationS: DURATION_S, connections: CONNECTIONS, loadGenerator: 'autocannon (separate process)' }, rows, pacedP99Ms: paced, redisBytesPerIdentityRule: memory, tokenOpsPerSecond: tokens, elapsedS: Math.round((Date.now() - started) / 1000) };

  const md = [
    `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${process.version}, Redis ${report.versions.redis}; ${ROUNDS} interleaved rounds × ${DURATION_S} s, ${CONNECTIONS} connections, autocannon in its own process; medians.`,
    '',
    '| variant | ratio to bare | req/s | p99 ms | Redis commands / request | failed |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.variant} | ${r.ratio.toFixed(2)} | ${r.rps} | ${r.p99Ms} | ${r.redisCommandsPerRequest ?? '–'} | ${r.failedRequests} |`),
    '',
    `Paced at 1,900 req/s, p99: ${Object.entries(paced).map(([k, v]) => `${k} ${v} ms`).join(', ')}.`,
    '',
    `Redis memory per (identity, rule) at 10,000 identities: ${Object.entries(memory).map(([k, v]) => `${k} ${v} B`).join('; ')}.`,
    '',
    `RedisJWTService at concurrency 50 (ops/s): ${Object.entries(tokens).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
  ].join('\n');
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(__dirname, 'results', 'latest.md'), `${md}\n`);
  console.log(`\n${md}\n\n(bench finished in ${report.elapsedS} s; results in bench/results/)`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
