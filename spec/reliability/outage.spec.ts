/**
 * @module Store outage: a private redis-server is killed mid-run and restarted on the same port.
 * Rate limiting never waits on the dead Redis, never 500s, and resumes on Redis within 0.5 s of its
 * return; fail-closed answers 503; an app started while Redis is down serves and picks it up.
 * (Tokens across an outage: token-outage.spec.ts.)
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Redis from 'ioredis';
import { expect } from 'chai';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import type { FailurePolicy } from '../../src/throttle/failure-policy';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { inPool, keepAliveAgent, send, type Reply } from '../support/http-load';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../support/redis';
import { until } from '../support/until';

/** The library's default store bound (storeTimeoutMs) plus slack for two busy shared cores. */
const STORE_TIMEOUT_MS = 100;
const LATENCY_BOUND_MS = STORE_TIMEOUT_MS + 250;
const RECOVERY_BOUND_MS = 500;
const secretKey = makeEdKey();

let unhandled = 0;
const countUnhandled = (): void => {
  unhandled++;
};

/** Keys under `prefix` in the Redis at `url` (a short-lived client, so it never queues). */
async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 300, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.keys(`${prefix}*`);
  } catch {
    return [];
  } finally {
    client.disconnect();
  }
}

interface App {
  port: number;
  get(path: string): Promise<Reply>;
  close(): Promise<void>;
}

async function startApp(cache: RedisCache, policy: FailurePolicy, bearer: string): Promise<App> {
  const jwt = new JWTService(new InMemoryCache(), { secretKey });
  const app = express();
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 'o'.repeat(32) }), onStoreFailure: policy, logger: quietLogger }));
  app.get('/wide', limiter(10_000, 60), (req, res) => res.json({ id: req.auth?.identifier ?? null }));
  app.get('/tight', limiter(3, 60), (req, res) => res.json({ id: req.auth?.identifier ?? null }));
  app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ error: err.name }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const agent = keepAliveAgent(20);
  return {
    port,
    get: (path) => send({ port, path, agent, headers: { authorization: `Bearer ${bearer}` }, timeoutMs: 5000 }),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await jwt.close();
    },
  };
}

/** Sequential requests plus bursts of 10 for `ms`; every reply kept. */
async function hammer(app: App, ms: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    replies.push(await app.get('/wide'));
    replies.push(...(await inPool(Array.from({ length: 10 }), 10, () => app.get('/wide'))));
  }
  return replies;
}

function summary(replies: Reply[]): { n: number; maxMs: number; p50Ms: number; statuses: number[] } {
  const ms = replies.map((r) => r.ms).sort((a, b) => a - b);
  return { n: replies.length, maxMs: Math.round(ms[ms.length - 1]), p50Ms: Math.round(ms[Math.floor(ms.length / 2)]), statuses: [...new Set(replies.map((r) => r.status))].sort() };
}

describe('Rate limiting across a Redis outage (private redis-server killed and restarted on the same port)', function () {
  this.timeout(60_000);
  let bearer: string;

  before(async () => {
    process.on('unhandledRejection', countUnhandled);
    const issuer = new JWTService(new InMemoryCache(), { secretKey });
    [bearer] = await issuer.createToken({ sub: 'outage-user' });
    await issuer.close();
  });

  for (const policy of ['open', 'memory'] as const) {
    describe(`onStoreFailure: '${policy}'`, () => {
      let redis: PrivateRedis;
      let cache: RedisCache;
      let app: App;
      const prefix = uniquePrefix(`outage-${policy}`);

      before(async () => {
        redis = await startPrivateRedis();
        cache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
        await until('cache ready', () => cache.isReady(), 3000);
        app = await startApp(cache, policy, bearer);
      });

      after(async () => {
        await app?.close();
        await cache?.close();
        await redis?.stop();
      });

      it('never waits on the dead Redis, never 500s, and is back on Redis within 0.5 s of its return', async () => {
        const before = await hammer(app, 300);
        expect(summary(before).statuses).to.deep.equal([200]);
        expect(await keysUnder(redis.url, prefix), 'limits live in Redis while it is up').to.not.be.empty;

        await redis.kill();
        const during = await hammer(app, 1500);
        const tight = [];
        for (let i = 0; i < 5; i++) tight.push((await app.get('/tight')).status);
        const s = summary(during);
        console.log(`      '${policy}' while down: ${s.n} requests, statuses ${s.statuses}, p50 ${s.p50Ms} ms, max ${s.maxMs} ms (up: max ${summary(before).maxMs} ms)`);
        expect(s.statuses).to.deep.equal([200]);
        expect(s.maxMs).to.be.below(LATENCY_BOUND_MS);
        for (const r of during) expect(JSON.parse(r.body)).to.deep.equal({ id: 'outage-user' });
        // 'memory' keeps limiting in-process; 'open' serves everything.
        expect(tight).to.deep.equal(policy === 'memory' ? [200, 200, 200, 429, 429] : [200, 200, 200, 200, 200]);

        await redis.start();
        const recoveryMs = await until('rate-limit state back in Redis', async () => {
          const reply = await app.get('/wide');
          expect(reply.status).to.equal(200);
          return (await keysUnder(redis.url, prefix)).length > 0;
        }, 3000);
        console.log(`      '${policy}' recovery: limits back on Redis ${recoveryMs} ms after it answered again`);
        expect(recoveryMs).to.be.at.most(RECOVERY_BOUND_MS);
        // Back on the (empty) Redis: /tight counts from zero again there.
        const after = [];
        for (let i = 0; i < 4; i++) after.push((await app.get('/tight')).status);
        expect(after).to.deep.equal([200, 200, 200, 429]);
      });
    });
  }

  describe("onStoreFailure: 'closed'", () => {
    let redis: PrivateRedis;
    let cache: RedisCache;
    let app: App;
    const prefix = uniquePrefix('outage-closed');

    before(async () => {
      redis = await startPrivateRedis();
      cache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
      await until('cache ready', () => cache.isReady(), 3000);
      app = await startApp(cache, 'closed', bearer);
    });

    after(async () => {
      await app?.close();
      await cache?.close();
      await redis?.stop();
    });

    it('answers 503 (ERR_WT_STORE_UNAVAILABLE, problem+json) while Redis is down, promptly, and 200 once it is back', async () => {
      expect((await app.get('/wide')).status).to.equal(200);
      await redis.kill();
      const during = await hammer(app, 500);
      const s = summary(during);
      console.log(`      'closed' while down: ${s.n} requests, statuses ${s.statuses}, max ${s.maxMs} ms`);
      expect(s.statuses).to.deep.equal([503]);
      expect(s.maxMs).to.be.below(LATENCY_BOUND_MS);
      expect(during[0].headers['content-type']).to.match(/^application\/problem\+json/);
      expect(JSON.parse(during[0].body)).to.include({ status: 503, code: 'ERR_WT_STORE_UNAVAILABLE' });
      await redis.start();
      const recoveryMs = await until('200 again', async () => (await app.get('/wide')).status === 200, 3000);
      console.log(`      'closed' recovery: 200 again ${recoveryMs} ms after Redis answered`);
      expect(recoveryMs).to.be.at.most(RECOVERY_BOUND_MS);
    });
  });

  describe('cold start (the app is created while Redis is down)', () => {
    let redis: PrivateRedis;
    let cache: RedisCache;
    let app: App;
    const prefix = uniquePrefix('outage-cold');

    before(async () => {
      redis = await startPrivateRedis();
      await redis.kill(); // a port with nothing behind it
      cache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
      app = await startApp(cache, 'memory', bearer);
    });

    after(async () => {
      await app?.close();
      await cache?.close();
      await redis?.stop();
    });

    it('serves (limiting in memory) without waiting, and moves to Redis once it appears', async () => {
      const during = await hammer(app, 1000);
      const s = summary(during);
      console.log(`      cold start while down: ${s.n} requests, statuses ${s.statuses}, max ${s.maxMs} ms`);
      expect(s.statuses).to.deep.equal([200]);
      expect(s.maxMs).to.be.below(LATENCY_BOUND_MS);
      const tight = [];
      for (let i = 0; i < 4; i++) tight.push((await app.get('/tight')).status);
      expect(tight).to.deep.equal([200, 200, 200, 429]);

      await redis.start();
      const pickupMs = await until('first rate-limit key in Redis', async () => {
        expect((await app.get('/wide')).status).to.equal(200);
        return (await keysUnder(redis.url, prefix)).length > 0;
      }, 3000);
      console.log(`      cold start: limits on Redis ${pickupMs} ms after it first answered`);
      expect(pickupMs).to.be.at.most(RECOVERY_BOUND_MS);
    });
  });
});

describe('Outages raise no unhandled rejection', () => {
  it('counted none while the suite above killed and restarted Redis', () => {
    process.off('unhandledRejection', countUnhandled);
    expect(unhandled).to.equal(0);
  });
});
