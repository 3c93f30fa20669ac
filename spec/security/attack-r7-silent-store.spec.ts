/**
 * @module Attack r7: the rate limiter against a silent (CLIENT PAUSE), slow or dying Redis, through
 * real HTTP requests with the public API. Every request must be answered, once, within about
 * `storeTimeoutMs` of its own start, without 500s or unhandled rejections.
 */
import net from 'node:net';
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware, type LimitMiddlewareOptions } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { quietLogger } from '../support/app-factory';
import { collectUnhandled } from '../support/unhandled';
import { startPrivateRedis, type PrivateRedis } from '../support/redis';
import { until } from '../support/until';
import { closeServer, histogram, pause, sleep, timed, type Timed } from './attack-r7-helpers';

const T = 200; // storeTimeoutMs under test
const unhandled: unknown[] = [];

describe('attack r7: the limiter on a silent or dying Redis (private redis-server)', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let cache: RedisCache;
  let server: Server | undefined;
  collectUnhandled(unhandled);

  beforeEach(async () => {
    redis = await startPrivateRedis();
    cache = new RedisCache(redis.url, { keyPrefix: 'r7-silent:', logger: quietLogger });
    await until('cache ready', () => cache.isReady(), 3000);
  });
  afterEach(async () => {
    await sleep(50);
    await closeServer(server);
    await cache.close();
    await redis.stop();
    expect(unhandled, 'unhandled rejections/exceptions').to.deep.equal([]);
  });

  function listen(opts: Partial<LimitMiddlewareOptions> = {}, limit = 10_000): Server {
    const app: Express = express();
    app.use(limitMiddleware({ cache, annoBackend: false, logger: quietLogger, storeTimeoutMs: T, ...opts }));
    app.get('/r', limiter(limit, 60), (req, res) => res.json({ ok: true }));
    server = app.listen(0, '127.0.0.1');
    return server;
  }

  it('a single request on a paused Redis is answered within 2 × storeTimeoutMs', async () => {
    const s = listen();
    expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 2000);
    const r = await timed(s, '/r');
    console.log('      single:', r.status, Math.round(r.ms), 'ms');
    expect(r.status).to.be.oneOf([200, 503]);
    expect(r.ms).to.be.below(2 * T);
  });

  it('50 concurrent requests on a paused Redis are ALL answered within 2 × storeTimeoutMs', async () => {
    const s = listen();
    expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 3000);
    const replies = await Promise.all(Array.from({ length: 50 }, () => timed(s, '/r')));
    const max = Math.max(...replies.map((r) => r.ms));
    const statuses = replies.reduce<Record<number, number>>((a, r) => ((a[r.status] = (a[r.status] ?? 0) + 1), a), {});
    console.log('      concurrent:', JSON.stringify(statuses), 'max', Math.round(max), 'ms');
    expect(replies.every((r) => r.status === 200 || r.status === 503), JSON.stringify(statuses)).to.equal(true);
    expect(max).to.be.below(2 * T);
  });

  it('requests started at t=0, 100, 150 ms each get their own deadline (storeTimeoutMs=300)', async () => {
    const s = listen({ storeTimeoutMs: 300 });
    expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 2000);
    const starts = [0, 100, 150, 400, 700, 1000, 1300];
    const replies = await Promise.all(starts.map(async (d) => (await sleep(d), timed(s, '/r'))));
    console.log('      staggered:', replies.map((r, i) => `t=${starts[i]}:${r.status}/${Math.round(r.ms)}ms`).join(' '));
    for (const r of replies) {
      expect(r.status).to.be.oneOf([200, 503]);
      expect(r.ms).to.be.below(2 * 300);
    }
  });

  it('after the pause, the limiter answers from Redis again quickly', async () => {
    const s = listen();
    await timed(s, '/r');
    await pause(redis.url, 600);
    await Promise.all(Array.from({ length: 20 }, () => timed(s, '/r')));
    await sleep(800);
    const after = [];
    for (let i = 0; i < 10; i++) after.push(await timed(s, '/r'));
    console.log('      after:', after.map((r) => `${r.status}/${Math.round(r.ms)}`).join(' '));
    expect(after.every((r) => r.status === 200 && r.ms < 100)).to.equal(true);
  });

  it('cookie-less anonymous callers (default AnnoSessionBackend, mint budget spent) on a paused Redis: each answered within 1.5 × storeTimeoutMs', async () => {
    // The README: "A connected Redis is awaited up to storeTimeoutMs". One request, one bound. Once the
    // (in-memory) mint budget is spent, the request is decided a second time without the mint rule, and
    // that second store call is another probe of the silent Redis: 2 × storeTimeoutMs (10 s by default).
    const t = 300;
    const s = listen({ storeTimeoutMs: t, annoBackend: new AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }) });
    for (let i = 0; i < 3; i++) expect((await timed(s, '/r')).status).to.equal(200);
    await pause(redis.url, 12_000);
    // Sequential cookie-less callers from one IP (supertest keeps no cookies): each mints (or tries to).
    const seq: Timed[] = [];
    for (let i = 0; i < 16; i++) seq.push(await timed(s, '/r'));
    console.log('      anon seq (status/ms):', seq.map((r) => `${r.status}/${Math.round(r.ms)}`).join(' '));
    for (const r of seq) expect(r.status).to.be.oneOf([200, 503]);
    const slowest = Math.max(...seq.map((r) => r.ms));
    expect(slowest, `slowest request ${Math.round(slowest)} ms with storeTimeoutMs ${t}`).to.be.below(1.5 * t);
  });

  it('a "Redis" that accepts TCP but never answers (from startup): requests answered within 2 × storeTimeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const hole = net.createServer((sock) => (sockets.add(sock), sock.on('error', () => {})));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
    const holeCache = new RedisCache(`redis://127.0.0.1:${(hole.address() as net.AddressInfo).port}`, { keyPrefix: 'r7-hole:', logger: quietLogger });
    try {
      const app: Express = express();
      app.use(limitMiddleware({ cache: holeCache, annoBackend: false, logger: quietLogger, storeTimeoutMs: T }));
      app.get('/r', limiter(10, 60), (req, res) => res.json({ ok: true }));
      const s = (server = app.listen(0, '127.0.0.1'));
      const replies = [...(await Promise.all(Array.from({ length: 20 }, () => timed(s, '/r'))))];
      for (let i = 0; i < 5; i++) replies.push(await timed(s, '/r'));
      console.log('      black hole:', JSON.stringify(histogram(replies)), 'max', Math.round(Math.max(...replies.map((r) => r.ms))), 'ms');
      for (const r of replies) {
        expect(r.status).to.be.oneOf([200, 429, 503]); // limit 10: the in-memory fallback limits
        expect(r.ms).to.be.below(2 * T);
      }
    } finally {
      await Promise.race([holeCache.close(), sleep(1000)]);
      holeCache.client.disconnect();
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => hole.close(r));
    }
  });
});
