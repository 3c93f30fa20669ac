/**
 * `npm run bench`: webtool against bare Express and the libraries users would pick instead, side by side
 * on this machine. Interleaved rounds (bare first, the others in random order), medians with their
 * spread, and two overhead figures per variant: the req/s ratio to bare Express of the same round, and
 * the server's CPU time per request (user + system from /proc) above bare's, the steadier of the two.
 * Everything targets loopback and a private redis-server this script starts; every child process is
 * bounded in time and killed on exit. Writes bench/results/latest.{json,md}; `npm run bench:readme`
 * puts the same figures in the README.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import http from 'node:http';
import Redis from 'ioredis';
import { makeEdKey } from '../src';
import { parseJWTOptions } from '../src/auth/jwt/options';
import { newTokenId, signToken } from '../src/auth/jwt/sign';
import { startPrivateRedis, type PrivateRedis } from '../spec/support/redis';
import { cpuMicros } from './cpu';
import { dbOverhead, firstDbAnswer } from './db';
import { commandsPerRequest, memoryPerIdentity, redisServerCounters } from './redis-figures';
import { renderMarkdown, type BenchReport, type VariantRow } from './report';
import { tokenThroughput } from './tokens';
import { versions } from './versions';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PACED_ROUNDS = Number(process.env.BENCH_PACED_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 3);
const PACED_RATE = 1800;
const CONNECTIONS = 50;
const TS_NODE = ['-r', 'ts-node/register/transpile-only'];
const children = new Set<ChildProcess>();

interface Variant {
  name: string;
  label: string;
  auth?: 'token' | 'fresh' | 'cookie' | 'zipf';
  redis?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'bare', label: '1 bare Express' },
  { name: 'erl-memory', label: '2 express-rate-limit (memory)' },
  { name: 'erl-redis', label: '3 express-rate-limit + rate-limit-redis', redis: true },
  { name: 'rlf-redis', label: '4 rate-limiter-flexible Redis', redis: true },
  { name: 'rlf-memory', label: '4b rate-limiter-flexible (memory)' },
  { name: 'jose', label: '5 jose EdDSA verify', auth: 'token' },
  { name: 'webtool-anno-redis', label: '6 webtool anonymous (cookie), Redis', auth: 'cookie', redis: true },
  { name: 'webtool-user-redis', label: '7 webtool user (EdDSA token reused), Redis', auth: 'token', redis: true },
  { name: 'webtool-user-redis-fresh', label: '7b webtool user (fresh token each request), Redis', auth: 'fresh', redis: true },
  { name: 'webtool-user-redis-log', label: '7c webtool user, Redis, sliding log', auth: 'token', redis: true },
  { name: 'webtool-user-redis-zipf', label: '7d webtool user, 10,000 users drawn Zipf(1.1), Redis', auth: 'zipf', redis: true },
  { name: 'webtool-user-redis-3rules', label: '7e webtool user, 3 stacked limits, Redis', auth: 'token', redis: true },
  { name: 'webtool-user-redis-2proc', label: '7f webtool user, 2 server processes, one Redis', auth: 'token', redis: true },
  { name: 'webtool-user-memory', label: '8 webtool user, InMemoryCache', auth: 'token' },
  { name: 'webtool-user-memory-noheaders', label: '8b the same, standardHeaders: false (rate-limiter-flexible sets none)', auth: 'token' },
  { name: 'jose-rlf-redis', label: '9 jose verify + rate-limiter-flexible Redis', auth: 'token', redis: true },
  { name: 'jose-evalsha', label: '10 jose verify + one hand-written EVALSHA', auth: 'token', redis: true },
  { name: 'jose-cached-evalsha', label: '10b jose verify (cached) + one hand-written EVALSHA', auth: 'token', redis: true },
  { name: 'webtool-unlimited-redis', label: '11 webtool middleware, unlimited route, Redis', auth: 'token', redis: true },
];
const PACED = ['bare', 'webtool-user-redis', 'webtool-user-redis-log', 'rlf-redis', 'jose-rlf-redis'];

function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
// The whole run is bounded.
setTimeout(() => {
  console.error('bench: time limit (20 min) reached');
  process.exit(1);
}, 20 * 60_000).unref();

interface Server {
  port: number;
  pids: number[];
  stop: () => Promise<void>;
}

async function startServer(variant: string, redisUrl: string, key: string): Promise<Server> {
  const child = spawn(process.execPath, [...TS_NODE, join(__dirname, 'server.ts'), variant, redisUrl], {
    env: { ...process.env, BENCH_KEY: key, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const { port, pids } = await new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} did not start`)), 90_000);
    lines.on('line', (line) => {
      const m = /^listening (\d+) ([\d,]+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), pids: m[2].split(',').map(Number) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
  });
  return {
    port,
    pids,
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
  tokensExhausted: boolean;
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

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; setCookie?: string[] }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] }));
      })
      .on('error', reject);
  });
}

async function verifiedStats(port: number): Promise<{ verifiedHits: number; verifiedMisses: number }> {
  return JSON.parse((await get(port, '/__bench/stats', {})).body);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);

function tokenFile(name: string, tokens: string[]): string {
  const file = join(tmpdir(), `webtool-bench-${name}-${process.pid}.txt`);
  writeFileSync(file, tokens.join('\n'));
  return file;
}

interface Samples {
  rps: number[];
  ratio: number[];
  p99: number[];
  cpuUs: number[];
  extraCpuUs: number[];
  failed: number;
  hits: number;
  misses: number;
  exhausted: boolean;
  cmds?: number;
  redisCpuUs: number[];
  redisReads: number[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const redis: PrivateRedis = await startPrivateRedis();
  const key = makeEdKey();
  // Valid webtool access tokens (also valid EdDSA JWTs for the jose-only variants).
  const config = parseJWTOptions({ secretKey: key });
  const iat = Math.floor(Date.now() / 1000);
  const sign = (sub: string) => signToken(config, { claims: { sub }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat, ttlS: 3600 });
  const token = await sign('bench-user');
  // Fresh-token runs take each token once, warm-up included; a new server per run starts with an empty cache.
  const freshFile = tokenFile('fresh', await Promise.all(Array.from({ length: 80_000 }, (_, i) => sign(`fresh-${i % 50}`))));
  const zipfFile = tokenFile('zipf', await Promise.all(Array.from({ length: 10_000 }, (_, i) => sign(`user-${i}`))));

  const samples: Record<string, Samples> = {};
  for (const v of VARIANTS) samples[v.name] = { rps: [], ratio: [], p99: [], cpuUs: [], extraCpuUs: [], failed: 0, hits: 0, misses: 0, exhausted: false, redisCpuUs: [], redisReads: [] };
  // Redis' side of each measured run: its CPU and socket reads per request (one admin connection, 2 INFO per run).
  const admin = new Redis(redis.url);

  for (let round = 1; round <= ROUNDS; round++) {
    let bare = { rps: 0, cpuUs: 0 };
    for (const v of [VARIANTS[0], ...shuffle(VARIANTS.slice(1))]) {
      const server = await startServer(v.name, redis.url, key);
      try {
        const headers: Record<string, string> = {};
        if (v.auth === 'token') headers.authorization = `Bearer ${token}`;
        if (v.auth === 'cookie') headers.cookie = ((await get(server.port, '/', {})).setCookie?.[0] ?? '').split(';')[0];
        const tokens = v.auth === 'fresh' ? { tokensFile: freshFile } : v.auth === 'zipf' ? { tokensFile: zipfFile, zipf: 1.1 } : {};
        const base = { url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, headers, ...tokens };
        const warm = await load({ ...base, durationS: 1 });
        const statsBefore = v.auth === 'fresh' || v.auth === 'zipf' ? await verifiedStats(server.port) : undefined;
        const redisBefore = v.redis ? await redisServerCounters(admin) : undefined;
        const cpuBefore = cpuMicros(server.pids);
        const r = await load({ ...base, durationS: DURATION_S, tokenOffset: warm.tokensUsed });
        const cpuUs = (cpuMicros(server.pids) - cpuBefore) / Math.max(1, r.total);
        if (redisBefore) {
          const redisAfter = await redisServerCounters(admin);
          samples[v.name].redisCpuUs.push((redisAfter.cpuUs - redisBefore.cpuUs) / Math.max(1, r.total));
          samples[v.name].redisReads.push((redisAfter.reads - redisBefore.reads) / Math.max(1, r.total));
        }
        const s = samples[v.name];
        if (statsBefore) {
          const after = await verifiedStats(server.port);
          s.hits += after.verifiedHits - statsBefore.verifiedHits;
          s.misses += after.verifiedMisses - statsBefore.verifiedMisses;
        }
        if (v.name === 'bare') bare = { rps: r.rps, cpuUs };
        s.rps.push(r.rps);
        s.p99.push(r.p99);
        s.ratio.push(r.rps / bare.rps);
        s.cpuUs.push(cpuUs);
        s.extraCpuUs.push(cpuUs - bare.cpuUs);
        s.failed += r.non2xx + r.errors + r.timeouts;
        s.exhausted ||= r.tokensExhausted;
        if (round === ROUNDS && v.redis) s.cmds = await commandsPerRequest(redis.url, server.port, v.auth === 'fresh' || v.auth === 'zipf' ? { authorization: `Bearer ${token}` } : headers);
        console.log(`round ${round} ${v.label.padEnd(56)} ${Math.round(r.rps).toString().padStart(6)} req/s  ratio ${(r.rps / bare.rps).toFixed(2)}  cpu ${cpuUs.toFixed(0)} µs/req  p99 ${r.p99} ms`);
      } finally {
        await server.stop();
      }
    }
  }

  // Paced runs: p99 at a fixed rate, interleaved rounds in random order; spread reported.
  const paced: Record<string, number[]> = Object.fromEntries(PACED.map((n) => [n, []]));
  for (let round = 1; round <= PACED_ROUNDS; round++) {
    for (const name of shuffle([...PACED])) {
      const server = await startServer(name, redis.url, key);
      try {
        const headers = { authorization: `Bearer ${token}` };
        await load({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, durationS: 1, headers });
        const r = await load({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, durationS: 5, headers, rate: PACED_RATE });
        paced[name].push(r.p99);
        console.log(`paced round ${round} ${name.padEnd(28)} p99 ${r.p99} ms`);
      } finally {
        await server.stop();
      }
    }
  }

  admin.disconnect();
  const memory = await memoryPerIdentity(redis.url);
  const tokenOps = await tokenThroughput(redis.url, key);
  const db = { overhead: await dbOverhead(), npmStart: await firstDbAnswer() };
  await redis.stop();

  const rows: VariantRow[] = VARIANTS.map((v) => {
    const s = samples[v.name];
    return {
      name: v.name,
      variant: v.label,
      ratio: Number(median(s.ratio).toFixed(2)),
      ratioMin: Number(Math.min(...s.ratio).toFixed(2)),
      ratioMax: Number(Math.max(...s.ratio).toFixed(2)),
      rps: Math.round(median(s.rps)),
      cpuUsPerRequest: Number(median(s.cpuUs).toFixed(1)),
      extraCpuUs: Number(median(s.extraCpuUs).toFixed(1)),
      extraCpuUsMin: Number(Math.min(...s.extraCpuUs).toFixed(1)),
      extraCpuUsMax: Number(Math.max(...s.extraCpuUs).toFixed(1)),
      extraCpuUsRounds: s.extraCpuUs.map((x) => Number(x.toFixed(1))),
      p99Ms: median(s.p99),
      redisCommandsPerRequest: s.cmds === undefined ? null : Number(s.cmds.toFixed(2)),
      redisCpuUsPerRequest: s.redisCpuUs.length ? Number(median(s.redisCpuUs).toFixed(1)) : null,
      redisReadsPerRequest: s.redisReads.length ? Number(median(s.redisReads).toFixed(3)) : null,
      failedRequests: s.failed,
      verifiedCacheHitRate: v.auth === 'fresh' || v.auth === 'zipf' ? Number((s.hits / Math.max(1, s.hits + s.misses)).toFixed(4)) : null,
      tokensExhausted: v.auth === 'fresh' ? s.exhausted : null,
    };
  });
  const report: BenchReport = {
    machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), date: new Date().toISOString() },
    versions: versions(redis.url),
    method: { rounds: ROUNDS, durationS: DURATION_S, connections: CONNECTIONS, pacedRounds: PACED_ROUNDS, pacedRate: PACED_RATE, loadGenerator: 'autocannon (separate process)' },
    rows,
    pacedP99Ms: Object.fromEntries(Object.entries(paced).map(([k, v]) => [k, { median: median(v), min: Math.min(...v), max: Math.max(...v) }])),
    redisBytesPerIdentityRule: memory,
    tokenOps,
    db,
    elapsedS: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = renderMarkdown(report);
  writeFileSync(join(__dirname, 'results', 'latest.md'), `${md}\n`);
  console.log(`\n${md}\n\n(bench finished in ${report.elapsedS} s; results in bench/results/; run npm run bench:readme to update the README)`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
