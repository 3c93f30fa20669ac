/**
 * @module Attack r7: Redis dies (SIGKILL) with requests in flight, or answers just after the store
 * timeout; and the 'closed' / 'open' policies on a silent Redis. Every request is answered exactly
 * once, never a 500, never an unhandled rejection.
 */
import type { Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { limitMiddleware, type LimitMiddlewareOptions } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { quietLogger } from '../support/app-factory';
import { collectUnhandled } from '../support/unhandled';
import { startPrivateRedis, type PrivateRedis } from '../support/redis';
import { until } from '../support/until';
import { closeServer, histogram, pause, sleep, timed, type Timed } from './attack-r7-helpers';

const T = 200;
const unhandled: unknown[] = [];

describe('attack r7: Redis dying mid-call, late replies, and the closed/open policies', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let cache: RedisCache;
  let server: Server | undefined;
  let handled = 0;
  let finished = 0;
  const errors: unknown[] = [];
  collectUnhandled(unhandled);

  beforeEach(async () => {
    handled = finished = 0;
    errors.length = 0;
    redis = await startPrivateRedis();
    cache = new RedisCache(redis.url, { keyPrefix: 'r7-dying:', logger: quietLogger });
    await until('cache ready', () => cache.isReady(), 3000);
  });
  afterEach(async () => {
    await sleep(100);
    await closeServer(server);
    server = undefined;
    await cache.close();
    await redis.stop();
    expect(errors, 'errors reaching the error handler (double answers, 500s)').to.deep.equal([]);
    expect(unhandled, 'unhandled rejections/exceptions').to.deep.equal([]);
  });

  function listen(opts: Partial<LimitMiddlewareOptions> = {}, limit = 10_000): Server {
    const app: Express = express();
    app.use((req, res, next) => {
      res.on('finish', () => finished++);
      next();
    });
    app.use(limitMiddleware({ cache, annoBackend: false, logger: quietLogger, storeTimeoutMs: T, ...opts }));
    app.get('/r', limiter(limit, 60), (req, res) => {
      handled++;
      res.json({ ok: true });
    });
    app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      if (!res.headersSent) res.status(500).json({ error: err.name });
    });
    server = app.listen(0, '127.0.0.1');
    return server;
  }

  it('SIGKILL of Redis with 50 requests in flight (Redis paused so they wait): all answered at once, once, no 500', async () => {
    const s = listen({ storeTimeoutMs: 2000 });
    expect((await timed(s, '/r')).status).to.equal(200);
    finished = 0;
    handled = 0;
    await pause(redis.url, 5000);
    const inflight = Promise.all(Array.from({ length: 50 }, () => timed(s, '/r')));
    await sleep(100);
    const killedAt = Date.now();
    await redis.kill();
    const replies = await inflight;
    const sinceKill = Date.now() - killedAt;
    const h = histogram(replies);
    console.log('      kill mid-call:', JSON.stringify(h), 'answered', sinceKill, 'ms after the kill');
    expect(replies.every((r) => r.status === 200 || r.status === 503), JSON.stringify(h)).to.equal(true);
    expect(sinceKill, 'a lost connection fails the calls at once').to.be.below(500);
    await sleep(300);
    expect(finished, 'responses finished (one per request)').to.equal(50);
  });

  it('requests during the restart window and after: no 500, no hang, shared limits resume', async () => {
    const s = listen();
    const replies: Timed[] = [];
    const end = Date.now() + 2500;
    let killed = false;
    let restarted = false;
    while (Date.now() < end) {
      const elapsed = 2500 - (end - Date.now());
      if (!killed && elapsed > 500) {
        killed = true;
        void redis.kill();
      }
      if (!restarted && elapsed > 1200) {
        restarted = true;
        await redis.start();
      }
      replies.push(...(await Promise.all(Array.from({ length: 5 }, () => timed(s, '/r')))));
    }
    const h = histogram(replies);
    const max = Math.max(...replies.map((r) => r.ms));
    console.log('      kill/restart:', JSON.stringify(h), 'max', Math.round(max), 'ms');
    expect(replies.every((r) => r.status === 200 || r.status === 503), JSON.stringify(h)).to.equal(true);
    expect(max).to.be.below(2 * T);
  });

  for (const [label, pauseMs] of [['just after', T + 15], ['just at', T], ['just before', T - 15]] as const) {
    it(`Redis answering ${label} the timeout (pause ${pauseMs} ms, storeTimeoutMs ${T}): each request answered once, 200 or 503`, async () => {
      const s = listen();
      expect((await timed(s, '/r')).status).to.equal(200);
      finished = 0;
      handled = 0;
      const rounds: Timed[] = [];
      for (let i = 0; i < 6; i++) {
        await pause(redis.url, pauseMs);
        rounds.push(...(await Promise.all(Array.from({ length: 10 }, () => timed(s, '/r')))));
        await sleep(pauseMs + 30);
      }
      await sleep(200);
      const h = histogram(rounds);
      console.log(`      ${label}:`, JSON.stringify(h), 'max', Math.round(Math.max(...rounds.map((r) => r.ms))), 'ms; handled', handled);
      expect(rounds.every((r) => r.status === 200 || r.status === 503), JSON.stringify(h)).to.equal(true);
      expect(finished).to.equal(60);
      expect(handled).to.equal(h[200] ?? 0);
      expect(Math.max(...rounds.map((r) => r.ms))).to.be.below(2 * T);
    });
  }

  it("onStoreFailure 'closed': a silent Redis answers 503 problem+json within the timeout, every time", async () => {
    const s = listen({ onStoreFailure: 'closed' });
    expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 2500);
    const replies = [...(await Promise.all(Array.from({ length: 20 }, () => timed(s, '/r'))))];
    for (let i = 0; i < 5; i++) replies.push(await timed(s, '/r'));
    const h = histogram(replies);
    console.log('      closed:', JSON.stringify(h), 'max', Math.round(Math.max(...replies.map((r) => r.ms))), 'ms', replies[0].body);
    for (const r of replies) {
      expect(r.status).to.equal(503);
      expect(r.type).to.match(/^application\/problem\+json/);
      expect(r.body).to.include({ status: 503 });
      expect(r.ms).to.be.below(2 * T);
    }
    expect(handled).to.equal(1);
  });

  it("onStoreFailure 'open': a silent Redis admits every request within the timeout", async () => {
    const s = listen({ onStoreFailure: 'open' }, 3);
    expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 2500);
    const replies = [...(await Promise.all(Array.from({ length: 20 }, () => timed(s, '/r'))))];
    for (let i = 0; i < 5; i++) replies.push(await timed(s, '/r'));
    const h = histogram(replies);
    console.log('      open:', JSON.stringify(h), 'max', Math.round(Math.max(...replies.map((r) => r.ms))), 'ms');
    for (const r of replies) {
      expect(r.status).to.equal(200);
      expect(r.ms).to.be.below(2 * T);
    }
  });
});
