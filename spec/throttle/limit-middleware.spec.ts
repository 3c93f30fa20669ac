import { expect } from 'chai';
import request from 'supertest';
import type { Express, Request } from 'express';
import type { Cache } from '../../src/cache/cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InvalidOptionError } from '../../src/errors';
import { limitMiddleware, LimitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { CACHES, EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { RedisCache } from '../../src/cache/redis-cache';
import { redisUrl, uniquePrefix } from '../support/redis';

const secretKey = makeEdKey();
const sessionSecret = 's'.repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const major of EXPRESS_MAJORS) {
  for (const cacheKind of CACHES) {
    describe(`limitMiddleware + limiter on ${major.name} with ${cacheKind.name}`, () => {
      let cache: Cache;
      let jwt: JWTService;
      let app: Express;
      let token: string;
      let adminToken: string;

      beforeEach(async () => {
        cache = await cacheKind.make();
        jwt = new JWTService(cache, { secretKey });
        [token] = await jwt.createToken({ sub: 'alice', scope: 'read' });
        [adminToken] = await jwt.createToken({ sub: 'root', scope: ['read', 'admin'] });
        const express = major.load();
        app = express() as unknown as Express;
        app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: sessionSecret }), legacyHeaders: true, logger: quietLogger }));
        app.get('/four', limiter(4, 10), (req, res) => res.json({ ok: true }));
        app.get('/split', limiter(2, 10, ['user']), limiter(1, 10, ['anno']), (req, res) => res.json({ user: req.auth?.identifier ?? null }));
        app.get('/admin', limiter(1, 10, ['admin']), (req, res) => res.json({ ok: true }));
        app.all('/posts', limiter(1, 10, [], { method: 'POST' }), (req, res) => res.json({ ok: true }));
        app.get('/short', limiter(1, 0.5), (req, res) => res.json({ ok: true }));
        app.get('/stacked', limiter.all(limiter(3, 10), limiter(1, 10, [], { method: 'GET', key: 'tight' })), (req, res) => res.json({ ok: true }));
        app.get('/cost', limiter(10, 10, [], { cost: (req: Request) => Number(req.query.units ?? 1) }), (req, res) => res.json({ ok: true }));
        app.get('/skip', limiter(1, 10, [], { skip: (req: Request) => req.query.vip === '1' }), (req, res) => res.json({ ok: true }));
        app.get('/whoami', (req, res) => res.json({ auth: req.auth ?? null }));
      });

      afterEach(async () => {
        await jwt.close();
        await cache.close();
      });

      it('answers 4 × 200 then 429 with Retry-After, rate-limit fields and a problem body', async () => {
        const agent = request.agent(app);
        for (let i = 0; i < 4; i++) {
          const res = await agent.get('/four').set('Authorization', `Bearer ${token}`).expect(200);
          expect(res.headers['ratelimit-policy']).to.equal('"4-in-10s";q=4;w=10');
          expect(res.headers.ratelimit).to.equal(`"4-in-10s";r=${3 - i};t=10`);
          expect(res.headers['x-ratelimit-limit']).to.equal('4');
          expect(res.headers['x-ratelimit-remaining']).to.equal(String(3 - i));
          expect(Number(res.headers['x-ratelimit-reset'])).to.be.closeTo(Date.now() / 1000 + 10, 2);
          expect(res.headers['access-control-expose-headers']).to.contain('RateLimit');
        }
        const denied = await agent.get('/four').set('Authorization', `Bearer ${token}`).expect(429);
        expect(denied.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(Number(denied.headers['retry-after'])).to.be.within(1, 10);
        expect(denied.body).to.deep.include({ type: 'https://iana.org/assignments/http-problem-types#quota-exceeded', status: 429 });
        expect(denied.body['violated-policies']).to.deep.equal(['4-in-10s']);
        expect(denied.headers.ratelimit).to.equal('"4-in-10s";r=0;t=10');
      });

      it('sets req.auth for a valid bearer token only', async () => {
        const res = await request(app).get('/whoami').set('Authorization', `Bearer ${token}`).expect(200);
        expect(res.body.auth).to.deep.include({ identifier: 'alice', scope: ['read'] });
        expect(res.body.auth.extra).to.have.keys('iat', 'exp', 'jti');
        expect((await request(app).get('/whoami').set('Authorization', 'Bearer nope').expect(200)).body.auth).to.equal(null);
        expect((await request(app).get('/whoami').expect(200)).body.auth).to.equal(null);
      });

      it('applies user and anno rules of one route to their own callers', async () => {
        // counted by IP until the session cookie comes back, then by session
        const anon = request.agent(app);
        expect((await anon.get('/split').expect(200)).body.user).to.equal(null);
        await anon.get('/split').expect(200);
        await anon.get('/split').expect(429);
        await request(app).get('/split').set('Authorization', `Bearer ${token}`).expect(200);
        await request(app).get('/split').set('Authorization', `Bearer ${token}`).expect(200);
        const third = await request(app).get('/split').set('Authorization', `Bearer ${token}`).expect(429);
        expect(third.body['violated-policies']).to.deep.equal(['2-in-10s-user']);
      });

      it('applies a scope-filtered rule only to callers holding that scope', async () => {
        await request(app).get('/admin').set('Authorization', `Bearer ${adminToken}`).expect(200);
        await request(app).get('/admin').set('Authorization', `Bearer ${adminToken}`).expect(429);
        for (let i = 0; i < 3; i++) {
          const res = await request(app).get('/admin').set('Authorization', `Bearer ${token}`).expect(200);
          expect(res.headers).to.not.have.property('ratelimit');
        }
      });

      it('counts only the methods a rule names', async () => {
        for (let i = 0; i < 3; i++) await request(app).get('/posts').set('Authorization', `Bearer ${token}`).expect(200);
        await request(app).post('/posts').set('Authorization', `Bearer ${token}`).expect(200);
        await request(app).post('/posts').set('Authorization', `Bearer ${token}`).expect(429);
      });

      it('frees the budget when the window has passed', async () => {
        const auth = { Authorization: `Bearer ${token}` };
        await request(app).get('/short').set(auth).expect(200);
        await request(app).get('/short').set(auth).expect(429);
        await sleep(600);
        await request(app).get('/short').set(auth).expect(200);
      });

      it('limits a client that never returns its cookie, by IP', async () => {
        const first = await request(app).get('/split').expect(200);
        expect(first.headers['set-cookie']?.[0]).to.match(/th-session=/);
        await request(app).get('/split').expect(429); // a new client each time, same IP
      });

      it('admits exactly 10 of 50 concurrent requests of one identity', async () => {
        app.get('/ten', limiter(10, 60), (req, res) => res.json({ ok: true }));
        const statuses = await Promise.all(Array.from({ length: 50 }, () => request(app).get('/ten').set('Authorization', `Bearer ${token}`).then((r) => r.status)));
        expect(statuses.filter((s) => s === 200)).to.have.length(10);
        expect(statuses.filter((s) => s === 429)).to.have.length(40);
      });

      it('decides stacked rules together: a request denied by one is counted by none', async () => {
        const auth = { Authorization: `Bearer ${token}` };
        const first = await request(app).get('/stacked').set(auth).expect(200);
        expect(first.headers['ratelimit-policy']).to.equal('"3-in-10s";q=3;w=10, "1-in-10s-GET";q=1;w=10');
        for (let i = 0; i < 3; i++) {
          const denied = await request(app).get('/stacked').set(auth).expect(429);
          expect(denied.body['violated-policies']).to.deep.equal(['1-in-10s-GET']);
          expect(denied.headers.ratelimit).to.match(/^"3-in-10s";r=2;/);
        }
      });

      it('spends a per-request cost and honours skip', async () => {
        const auth = { Authorization: `Bearer ${token}` };
        expect((await request(app).get('/cost?units=7').set(auth).expect(200)).headers.ratelimit).to.match(/r=3;/);
        await request(app).get('/cost?units=4').set(auth).expect(429);
        await request(app).get('/cost?units=3').set(auth).expect(200);
        await request(app).get('/skip').set(auth).expect(200);
        await request(app).get('/skip').set(auth).expect(429);
        const vip = await request(app).get('/skip?vip=1').set(auth).expect(200);
        expect(vip.headers).to.not.have.property('ratelimit');
      });

      it('never answers 500 to malformed Authorization or Cookie headers', async () => {
        const headers: Record<string, string>[] = [
          { Authorization: 'Bearer' },
          { Authorization: 'Bearer a.b.c' },
          { Authorization: `Bearer ${'x'.repeat(9000)}` },
          { Authorization: 'Basic Zm9vOmJhcg==' },
          { Authorization: 'Bearer ....' },
          { Authorization: 'bearer   ' },
          { Cookie: 'th-session' },
          { Cookie: 'th-session=%E0%A4%A' },
          { Cookie: `th-session=${'a'.repeat(8000)}` },
          { Cookie: 'th-session=a; th-session=b; =; ;;' },
        ];
        for (const h of headers) {
          const res = await request(app).get('/whoami').set(h);
          expect(res.status, JSON.stringify(h).slice(0, 60)).to.equal(200);
          expect(res.body.auth).to.equal(null);
        }
      });

      it('answers the configured handler instead of the default 429', async () => {
        const express = major.load();
        const custom = express() as unknown as Express;
        custom.use(limitMiddleware({ cache, backends: [new IPBackend()], handler: (req, res, next, info) => res.status(429).json({ slowDown: info.retryAfterSeconds, rules: info.violated.map((v) => v.name) }) }));
        custom.get('/x', limiter(1, 5), (req, res) => res.json({ ok: true }));
        await request(custom).get('/x').expect(200);
        const res = await request(custom).get('/x').expect(429);
        expect(res.body).to.deep.equal({ slowDown: 5, rules: ['1-in-5s'] });
        expect(res.headers['retry-after']).to.equal('5');
      });
    });
  }
}

describe('limitMiddleware shared and tuned', () => {
  it('enforces one limit jointly across two Express apps sharing one Redis', async () => {
    // two apps (as two processes of one service would be), each with its own client, same prefix
    const keyPrefix = uniquePrefix('joint');
    const caches = [new RedisCache(await redisUrl(), { keyPrefix, logger: quietLogger }), new RedisCache(await redisUrl(), { keyPrefix, logger: quietLogger })];
    const apps = caches.map((cache) => {
      const app = EXPRESS_MAJORS[0].load()();
      app.use(limitMiddleware({ cache, backends: [new IPBackend()] }));
      app.get('/x', limiter(5, 10), (req, res) => res.json({}));
      return app;
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await request(apps[i % 2]).get('/x')).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429, 429]);
    await Promise.all(caches.map((c) => c.close()));
  });

  it('omits the standard fields when standardHeaders is false, and skips every limit for allow-listed requests', async () => {
    const cache = await CACHES[0].make();
    const app = EXPRESS_MAJORS[1].load()();
    app.use(limitMiddleware({ cache, backends: [new IPBackend()], standardHeaders: false, skip: (req: Request) => req.headers['x-internal'] === 'yes' }));
    app.get('/x', limiter(1, 10), (req, res) => res.json({}));
    const first = await request(app).get('/x').expect(200);
    expect(first.headers).to.not.have.property('ratelimit');
    expect(first.headers).to.not.have.property('ratelimit-policy');
    await request(app).get('/x').expect(429);
    await request(app).get('/x').set('X-Internal', 'yes').expect(200);
    await cache.close();
  });

  it('decides with a store of your own when one is given', async () => {
    const seen: string[][] = [];
    const store = {
      async consume(rules: readonly { key: string; limit: number; windowMs: number }[]) {
        seen.push(rules.map((r) => r.key));
        return { status: 'limited' as const, rules: rules.map((r) => ({ ...r, allowed: false, remaining: 0, resetMs: 7000, retryAfterMs: 7000 })) };
      },
    };
    const cache = await CACHES[0].make();
    const app = EXPRESS_MAJORS[0].load()();
    app.use(limitMiddleware({ cache, backends: [new IPBackend()], store }));
    app.get('/x', limiter(1, 10), (req, res) => res.json({}));
    const res = await request(app).get('/x').expect(429);
    expect(res.headers['retry-after']).to.equal('7');
    expect(seen).to.have.length(1);
    expect(seen[0][0]).to.match(/^wt:\{a:ip:.+\}[A-Za-z0-9_-]{8}$/);
    await cache.close();
  });

  it('keeps apps with different key prefixes apart on the same cache', async () => {
    const cache = await CACHES[1].make();
    const make = (keyPrefix: string) => {
      const app = EXPRESS_MAJORS[0].load()();
      app.use(limitMiddleware({ cache, backends: [new IPBackend()], keyPrefix }));
      app.get('/x', limiter(1, 10), (req, res) => res.json({}));
      return app;
    };
    const [a, b] = [make('a:'), make('b:')];
    await request(a).get('/x').expect(200);
    await request(a).get('/x').expect(429);
    await request(b).get('/x').expect(200);
    await cache.close();
  });
});

describe('limitMiddleware options', () => {
  it('refuses bad options at creation with InvalidOptionError naming the option', () => {
    const cache = CACHES[0];
    void cache;
    const cases: [unknown, RegExp][] = [
      [undefined, /options/],
      [{}, /cache/],
      [{ cache: { get() {} }, onStoreFailure: 'maybe' }, /onStoreFailure/],
      [{ cache: { get() {} }, authBackend: {} }, /authBackend/],
      [{ cache: { get() {} }, backends: [new IPBackend()], authBackend: new IPBackend() }, /backends/],
      [{ cache: { get() {} }, skip: 'yes' }, /skip/],
    ];
    for (const [options, pattern] of cases) {
      expect(() => limitMiddleware(options as never), String(pattern)).to.throw(InvalidOptionError, pattern);
    }
  });

  it('refuses bad limiter arguments at creation', () => {
    expect(() => limiter(0, 10)).to.throw(InvalidOptionError, /maxRequests/);
    expect(() => limiter(1, -1)).to.throw(InvalidOptionError, /intervalSeconds/);
    expect(() => limiter(1, 1, [''])).to.throw(InvalidOptionError, /scopes/);
    expect(() => limiter(1, 1, [], { method: 'GET POST' })).to.throw(InvalidOptionError, /method/);
    expect(() => limiter(1, 1, [], { algorithm: 'leaky' as never })).to.throw(InvalidOptionError, /algorithm/);
    expect(() => limiter(1, 1, [], { cost: -1 })).to.throw(InvalidOptionError, /cost/);
  });

  it('passes a clear error when a limiter runs without limitMiddleware', async () => {
    const express = EXPRESS_MAJORS[0].load();
    const app = express();
    app.get('/x', limiter(1, 1), (req, res) => res.json({}));
    let seen: unknown;
    app.use((err: unknown, req: unknown, res: { status(n: number): { json(b: unknown): void } }, next: unknown) => {
      seen = err;
      res.status(500).json({});
    });
    await request(app).get('/x').expect(500);
    expect((seen as { code: string }).code).to.equal('ERR_WT_CONFIGURATION');
  });

  it('works as a class for routing-controllers and app.use', async () => {
    const cache = await CACHES[0].make();
    const express = EXPRESS_MAJORS[0].load();
    const app = express();
    app.use(new LimitMiddleware({ cache, backends: [new IPBackend()] }).use);
    app.get('/x', limiter(1, 10), (req, res) => res.json({}));
    await request(app).get('/x').expect(200);
    await request(app).get('/x').expect(429);
    await cache.close();
  });
});

describe('exposeRateLimitHeaders', () => {
  it('adds the rate-limit fields to Access-Control-Expose-Headers without clobbering what is there', async () => {
    const { exposeRateLimitHeaders } = await import('../../src/throttle/headers');
    const app = EXPRESS_MAJORS[0].load()();
    app.get('/fresh', (req, res) => {
      exposeRateLimitHeaders(res);
      res.json({});
    });
    app.get('/merged', (req, res) => {
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, ratelimit');
      exposeRateLimitHeaders(res);
      res.json({});
    });
    expect((await request(app).get('/fresh')).headers['access-control-expose-headers']).to.equal('RateLimit, RateLimit-Policy, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
    expect((await request(app).get('/merged')).headers['access-control-expose-headers']).to.equal('X-Request-Id, ratelimit, RateLimit-Policy, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
  });
});
