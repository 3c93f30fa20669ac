/** Redis-side figures: commands clients send per request, and memory per (identity, rule). */
import http from 'node:http';
import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { RedisStore } from '../src/throttle/redis-store';
import { createRule, ruleKey } from '../src/throttle/rule';

function get(port: number, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

/** Commands clients SENT per request (script-internal calls excluded), over 200 sequential requests. */
export async function commandsPerRequest(redisUrl: string, port: number, headers: Record<string, string>): Promise<number> {
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

/** Redis' own CPU time (user + system, µs) and the socket reads it has processed, from INFO. */
export async function redisServerCounters(admin: Redis): Promise<{ cpuUs: number; reads: number }> {
  const info = await admin.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)![1]);
  return { cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, reads: field('total_reads_processed') };
}

async function usedMemory(client: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
}

/** `used_memory` growth per (identity, rule) at 10,000 identities, ours and a peer's, measured alike. */
export async function memoryPerIdentity(redisUrl: string): Promise<Record<string, number>> {
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
    const before = await usedMemory(client);
    const rule = createRule(1000, 3600, [], { algorithm });
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const key = ruleKey('wt:', `u:user-${i + j}`, 'ApiController.resource', rule);
          for (let r = 0; r < requests; r++) await store.consume([{ key, limit: 1000, windowMs: 3_600_000, cost: 1, algorithm }]);
        }),
      );
    }
    out[label] = Math.round(((await usedMemory(client)) - before) / 10_000);
  }
  await client.flushall();
  const before = await usedMemory(client);
  const peer = new RateLimiterRedis({ storeClient: client, points: 1000, duration: 3600 });
  for (let i = 0; i < 10_000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => peer.consume(`user-${i + j}`)));
  out['rate-limiter-flexible fixed window (peer)'] = Math.round(((await usedMemory(client)) - before) / 10_000);
  const sample = ruleKey('wt:', 'u:user-1234', 'ApiController.resource', createRule(1000, 3600, [], { algorithm: 'gcra' }));
  await store.consume([{ key: sample, limit: 1000, windowMs: 3_600_000, cost: 1, algorithm: 'gcra' }]);
  out['gcra, MEMORY USAGE of one key'] = Number(await client.call('MEMORY', 'USAGE', sample));
  await client.flushall();
  await client.quit();
  return out;
}
