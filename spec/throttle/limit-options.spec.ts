import { expect } from 'chai';
import request from 'supertest';
import type { Request } from 'express';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InvalidOptionError } from '../../src/errors';
import { limitMiddleware, LimitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { CACHES, EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { RedisCache } from '../../src/cache/redis-cache';
import { redisUrl, uniquePrefix } from '../support/redis';

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
    // Nothing to expose on an admitted request; a denial still exposes its Retry-After to browsers.
    expect(first.headers).to.not.have.property('access-control-expose-headers');
    const denied = await request(app).get('/x').expect(429);
    expect(denied.headers['access-control-expose-headers']).to.include('Retry-After');
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

  it('says options are the fourth argument when they are passed as scopes', () => {
    expect(() => limiter(10, 10, { method: 'GET' } as never)).to.throw(InvalidOptionError, /fourth argument/).with.property('code', 'ERR_WT_INVALID_OPTION');
  });

  it("refuses a scope one edit away from 'user' or 'anno', suggesting it; custom scopes stay valid", () => {
    for (const [typo, meant] of [['usr', 'user'], ['users', 'user'], ['User', 'user'], ['ano', 'anno'], ['annon', 'anno']]) {
      expect(() => limiter(1, 1, [typo]), typo).to.throw(InvalidOptionError, new RegExp(`did you mean '${meant}'`)).with.property('option', 'scopes');
    }
    expect(() => limiter(1, 1, ['user', 'read', 'admin', 'anno'])).to.not.throw();
  });

  it('refuses unknown option names with the nearest valid one', () => {
    const cases: [object, string, RegExp][] = [
      [{ algo: 'gcra' }, 'algo', /did you mean `algorithm`/],
      [{ methods: 'GET' }, 'methods', /did you mean `method`/],
      [{ costs: 2 }, 'costs', /did you mean `cost`/],
      [{ skipIf: () => false }, 'skipIf', /did you mean `skip`/],
      [{ zzzzzzzz: 1 }, 'zzzzzzzz', /known options: method, key, algorithm, cost, skip/],
    ];
    for (const [options, option, message] of cases) {
      expect(() => limiter(1, 1, [], options as never), option).to.throw(InvalidOptionError, message).with.property('option', option);
    }
  });

  it('refuses a sliding-log limit above MAX_SLIDING_LOG_LIMIT at creation, pointing to gcra, which takes any limit', () => {
    expect(() => limiter(20_000, 60)).to.throw(InvalidOptionError, /at most 10000 .*gcra/).with.property('option', 'maxRequests');
    expect(() => limiter(20_000, 60, [], { algorithm: 'sliding-log' })).to.throw(InvalidOptionError);
    expect(() => limiter(10_000, 60)).to.not.throw();
    expect(() => limiter(20_000, 60, [], { algorithm: 'gcra' })).to.not.throw();
  });

  it('refuses a window under 1 ms (it would round to 0 and count nothing) and accepts 1 ms', () => {
    expect(() => limiter(2, 0.0004)).to.throw(InvalidOptionError, /intervalSeconds: must be at least 0.001 s/);
    expect(limiter(2, 0.001).rules[0].windowMs).to.equal(1);
  });

  it('refuses a constant cost above a constant limit on either algorithm: no request could be admitted', () => {
    for (const algorithm of ['gcra', 'sliding-log'] as const) {
      expect(() => limiter(3, 60, [], { algorithm, cost: 4 }), algorithm).to.throw(InvalidOptionError, /cost: 4 exceeds maxRequests \(3\)/);
      expect(() => limiter(3, 60, [], { algorithm, cost: 3 })).to.not.throw();
    }
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
