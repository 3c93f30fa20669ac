/**
 * @module Attack r7: admissions across a Redis outage with the default policy ('memory'). The README
 * bounds over-admission: "across an outage an identity can be admitted up to `limit` more per process
 * per window that overlaps it" — so one process admits at most 2 × limit in any window.
 */
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { quietLogger } from '../support/app-factory';
import { collectUnhandled } from '../support/unhandled';
import { startPrivateRedis, type PrivateRedis } from '../support/redis';
import { until } from '../support/until';
import { closeServer, histogram, pause, sleep, timed, type Timed } from './attack-r7-helpers';

const LIMIT = 5;
const WINDOW_S = 10;
const unhandled: unknown[] = [];

describe(`attack r7: budget of ${LIMIT} per ${WINDOW_S} s across a Redis outage (default 'memory')`, function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let cache: RedisCache;
  let server: Server;
  collectUnhandled(unhandled);

  beforeEach(async () => {
    redis = await startPrivateRedis();
    cache = new RedisCache(redis.url, { keyPrefix: 'r7-budget:', logger: quietLogger });
    await until('cache ready', () => cache.isReady(), 3000);
    const app: Express = express();
    app.use(limitMiddleware({ cache, annoBackend: false, logger: quietLogger, storeTimeoutMs: 200 }));
    app.get('/r', limiter(LIMIT, WINDOW_S), (req, res) => res.json({ ok: true }));
    server = app.listen(0, '127.0.0.1');
  });
  afterEach(async () => {
    await closeServer(server);
    await cache.close();
    await redis.stop();
    expect(unhandled).to.deep.equal([]);
  });

  /** Sequential requests plus bursts of 5, for `ms`, running `events` at their offsets. */
  async function drive(ms: number, events: [number, () => Promise<void>][]): Promise<Timed[]> {
    const replies: Timed[] = [];
    const start = Date.now();
    const pending = [...events];
    while (Date.now() - start < ms) {
      while (pending.length && Date.now() - start >= pending[0][0]) await pending.shift()![1]();
      replies.push(await timed(server, '/r'));
      replies.push(...(await Promise.all(Array.from({ length: 5 }, () => timed(server, '/r')))));
      await sleep(20);
    }
    return replies;
  }

  it('a silent Redis (CLIENT PAUSE 2 s) inside one window: at most 2 × limit admitted', async () => {
    const replies = await drive(4500, [[1000, () => pause(redis.url, 2000)]]);
    const h = histogram(replies);
    console.log('      pause:', JSON.stringify(h));
    expect(h[500] ?? 0).to.equal(0);
    expect(h[200] ?? 0).to.be.at.most(2 * LIMIT);
  });

  it('two silent spells in one window: at most 2 × limit admitted', async () => {
    const replies = await drive(6000, [
      [800, () => pause(redis.url, 1200)],
      [3500, () => pause(redis.url, 1200)],
    ]);
    const h = histogram(replies);
    console.log('      two pauses:', JSON.stringify(h));
    expect(h[200] ?? 0).to.be.at.most(2 * LIMIT);
  });

  // A Redis without persistence (or a failover to a replica that missed writes) comes back empty: Redis
  // then hands out a fresh `limit` on top of the one it gave before and the fallback's. The README's
  // bound for a Redis that forgets its counts is limit × (2 + processes): 3 × limit for one process.
  it('Redis killed and restarted (its counts lost) inside one window: at most 3 × limit admitted (the documented bound)', async () => {
    const replies = await drive(4500, [
      [1000, () => redis.kill()],
      [2500, async () => void (await redis.start())],
    ]);
    const h = histogram(replies);
    console.log('      kill/restart:', JSON.stringify(h));
    expect(h[200] ?? 0).to.be.at.most(3 * LIMIT);
  });
});
