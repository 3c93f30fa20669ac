/**
 * Measures single variants without the full bench: `one.ts <variant>[,<variant>…] [runs] [seconds]`.
 * For each run: a fresh server, 1 s warm-up, a measured run; prints server CPU µs per request (from
 * /proc), then the median and spread per variant. Private redis-server, loopback only, bounded.
 * `RATE=n` paces the load at n requests/s (both runs). `PROF=1` starts the server with `--cpu-prof` (profile written into bench/results/prof/ on exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeEdKey } from '../src';
import { parseJWTOptions } from '../src/auth/jwt/options';
import { newTokenId, signToken } from '../src/auth/jwt/sign';
import { startPrivateRedis } from '../spec/support/redis';
import { cpuMicros, threadMicros } from './cpu';

const TS_NODE = ['-r', 'ts-node/register/transpile-only'];
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
setTimeout(() => process.exit(1), 10 * 60_000).unref();

function run(script: string, args: string[], env: NodeJS.ProcessEnv, extra: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...extra, ...TS_NODE, script.startsWith('/') ? script : join(__dirname, script), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return child;
}

async function main(): Promise<void> {
  const variants = process.argv[2].split(',');
  const runs = Number(process.argv[3] ?? 3);
  const seconds = Number(process.argv[4] ?? 3);
  const redis = await startPrivateRedis();
  const key = makeEdKey();
  const config = parseJWTOptions({ secretKey: key });
  const token = await signToken(config, { claims: { sub: 'bench-user' }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat: Math.floor(Date.now() / 1000), ttlS: 3600 });
  // Variants named *fresh* (and jose ones with FRESH=1) get a new token on every request, warm-up included.
  const freshFile = join(tmpdir(), `webtool-one-fresh-${process.pid}.txt`);
  if (variants.some((v) => v.includes('fresh')) || process.env.FRESH) {
    const iat = Math.floor(Date.now() / 1000);
    const fresh = await Promise.all(Array.from({ length: 60_000 }, (_, i) => signToken(config, { claims: { sub: `fresh-${i % 50}` }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat, ttlS: 3600 })));
    writeFileSync(freshFile, fresh.join('\n'));
  }
  const profDir = join(__dirname, 'results', 'prof');
  mkdirSync(profDir, { recursive: true });
  const results: Record<string, number[]> = {};
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      // `name@/other/checkout` runs that checkout's server (a before/after comparison in one run).
      // `name+noap`: the same variant with ioredis auto-pipelining off in webtool's RedisCache.
      const [spec, dir] = v.split('@');
      const name = spec.replace(/\+noap$/, '');
      const server = run(dir ? join(dir, 'bench', 'server.ts') : 'server.ts', [name, redis.url], { ...process.env, BENCH_KEY: key, NODE_ENV: 'production', ...(spec.endsWith('+noap') ? { WT_NOAP: '1' } : {}) }, process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
      const { port, pids } = await new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
        createInterface({ input: server.stdout! }).on('line', (line) => {
          const m = /^listening (\d+) ([\d,]+)$/.exec(line);
          if (m) resolve({ port: Number(m[1]), pids: m[2].split(',').map(Number) });
        });
        server.once('exit', (code) => reject(new Error(`${v} exited ${code}`)));
      });
      let headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (name.includes('anno')) {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        headers = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
      }
      const fresh = name.includes('fresh') || (process.env.FRESH && name.startsWith('jose'));
      let offset = 0;
      const load = async (durationS: number) => {
        const tokens = fresh ? { tokensFile: freshFile, tokenOffset: offset } : {};
        const child = run('load.ts', [JSON.stringify({ url: `http://127.0.0.1:${port}/`, connections: 50, durationS, headers, rate: process.env.RATE ? Number(process.env.RATE) : undefined, ...tokens })], process.env);
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        await new Promise((res) => child.once('exit', res));
        children.delete(child);
        const result = JSON.parse(out) as { total: number; rps: number; non2xx: number; tokensUsed: number; tokensExhausted: boolean };
        offset += result.tokensUsed ?? 0;
        if (result.tokensExhausted) throw new Error('fresh tokens ran out: the run reused tokens');
        return result;
      };
      await load(1);
      const threadsBefore = process.env.THREADS ? threadMicros(pids) : undefined;
      const before = cpuMicros(pids);
      const res = await load(seconds);
      const us = (cpuMicros(pids) - before) / res.total;
      if (threadsBefore) {
        // Per thread: the main (JS) thread, V8's GC helpers, libuv's pool (crypto, fs).
        const after = threadMicros(pids);
        const byName = new Map<string, number>();
        for (const [tid, t] of after) byName.set(t.name, (byName.get(t.name) ?? 0) + (t.us - (threadsBefore.get(tid)?.us ?? 0)) / res.total);
        console.log('  threads: ' + [...byName].filter(([, v]) => v > 0).map(([n, v]) => `${n} ${v.toFixed(1)}`).join(', '));
      }
      (results[v] ??= []).push(us);
      console.log(`${v.padEnd(28)} ${us.toFixed(1).padStart(6)} µs/req  ${Math.round(res.rps)} req/s  non2xx ${res.non2xx}`);
      await new Promise<void>((res) => {
        server.once('exit', () => res());
        server.kill('SIGTERM');
        setTimeout(() => server.kill('SIGKILL'), 5000).unref();
      });
      children.delete(server);
    }
  }
  const summary: string[] = [];
  for (const [v, xs] of Object.entries(results)) {
    const s = [...xs].sort((a, b) => a - b);
    summary.push(`${v.padEnd(28)} median ${s[Math.floor(s.length / 2)].toFixed(1)}  spread ${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)}`);
  }
  console.log(summary.join('\n'));
  writeFileSync(join(tmpdir(), `one-${Date.now()}.txt`), summary.join('\n'));
  await redis.stop();
  process.exit(0);
}
void main();
