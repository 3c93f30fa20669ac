/**
 * @module What a client sees when a rule misbehaves or is unusual: a throwing rule function is a
 * problem+json 500 without stack or path (issue 8 item 11); a request costing more than the limit is
 * a 429 without Retry-After and counts nothing (item 12); non-ASCII scopes give valid headers
 * (issue 13 item 6); Retry-After is the longest wait among the violated rules only.
 */
import type { Express, Request } from 'express';
import request from 'supertest';
import { expect } from 'chai';
import type { AuthBackend } from '../../src/auth/backends/backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import type { ConsumeRule } from '../../src/throttle/store';
import { EXPRESS_MAJORS } from '../support/app-factory';

/** Every caller is user `u` holding `scopes`. */
const userWith = (scopes: string[]): AuthBackend => ({ kind: 'user', authenticate: () => ({ identifier: 'u', scope: scopes, extra: {} }) });

/** An sf-string as RFC 8941 §3.3.3 allows: printable ASCII, `"` and `\` only escaped. */
const SF_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"$/;

for (const major of EXPRESS_MAJORS) {
  describe(`rule answers on ${major.name}`, () => {
    let app: Express;
    let logged: string[];

    function makeApp(backend: AuthBackend = new IPBackend()): Express {
      logged = [];
      const made = major.load()();
      made.use(limitMiddleware({ cache: new InMemoryCache(), backends: [backend], logger: { warn: (m: string) => logged.push(m) } }));
      return made;
    }

    beforeEach(() => {
      app = makeApp();
    });

    it('answers a throwing maxRequests or cost function with a problem+json 500: no stack, no path, logged once', async () => {
      const boom = () => {
        throw new Error('lookup failed at /srv/app/secret-path.js');
      };
      app.get('/max', limiter(boom, 60), (req, res) => res.json({ ok: true }));
      app.get('/cost', limiter(5, 60, [], { cost: async () => Promise.reject(new TypeError('bad cost')) }), (req, res) => res.json({ ok: true }));
      for (const path of ['/max', '/cost']) {
        const res = await request(app).get(path).expect(500);
        expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(res.body).to.deep.equal({ type: 'about:blank', title: 'Internal Server Error', status: 500, code: 'ERR_WT_CONFIGURATION' });
        expect(res.text).to.not.match(/secret-path|at \w|node_modules|\.ts:/);
      }
      expect(logged).to.have.length(2);
      expect(logged[0]).to.contain('lookup failed');
      expect(logged[1]).to.contain('TypeError: bad cost');
    });

    it('logs a failing rule function once per route, however many requests hit it (no log flooding)', async () => {
      app.get('/flood', limiter(5, 60, [], { cost: () => { throw new Error('boom'); } }), (req, res) => res.json({ ok: true }));
      for (let i = 0; i < 20; i++) await request(app).get('/flood').expect(500);
      expect(logged).to.have.length(1);
    });

    it('answers a maxRequests function above the sliding-log cap with the problem+json 500, never an HTML stack', async () => {
      app.get('/plan', limiter((req: Request) => Number(req.query.m), 60), (req, res) => res.json({ ok: true }));
      for (const m of ['10001', '1e12']) {
        const res = await request(app).get(`/plan?m=${m}`).expect(500);
        expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(res.body.code).to.equal('ERR_WT_CONFIGURATION');
        expect(res.text).to.not.match(/at \w|\.ts:/);
      }
      await request(app).get('/plan?m=10000').expect(200);
      expect(logged[0]).to.contain("use algorithm 'gcra'");
    });

    it('answers a rule function returning a bad value with the same 500, naming it in the log', async () => {
      app.get('/x', limiter(() => -1, 60), (req, res) => res.json({ ok: true }));
      const res = await request(app).get('/x').expect(500);
      expect(res.body.code).to.equal('ERR_WT_CONFIGURATION');
      expect(logged).to.have.length(1);
      expect(logged[0]).to.contain('maxRequests function returned -1');
    });

    it('answers a request costing more than the limit with 429 and no Retry-After, and counts nothing', async () => {
      app.get('/upload', limiter(3, 60, [], { algorithm: 'gcra', cost: (req: Request) => Number(req.query.n) }), (req, res) => res.json({ ok: true }));
      for (let i = 0; i < 3; i++) {
        const big = await request(app).get('/upload?n=4').expect(429);
        expect(big.headers).to.not.have.property('retry-after');
        expect(big.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(big.body['violated-policies']).to.deep.equal(['3-in-60s']);
      }
      const small = await request(app).get('/upload?n=3').expect(200); // the whole budget is still there
      expect(small.headers.ratelimit).to.equal('"3-in-60s";r=0;t=60');
    });

    it('sends valid RateLimit fields for non-ASCII, quote and backslash scopes, and counts the request once', async () => {
      const scopes = ['читать', 'café', 'a"b\\c', '100%'];
      app = makeApp(userWith(scopes));
      app.get('/r', limiter(2, 60, scopes), (req, res) => res.json({ ok: true }));
      const first = await request(app).get('/r').expect(200);
      const policy = first.headers['ratelimit-policy'] as string;
      const name = policy.slice(0, policy.indexOf(';'));
      expect(name).to.match(SF_STRING);
      expect(name).to.equal('"2-in-60s-100%25+a\\"b\\\\c+caf%c3%a9+%d1%87%d0%b8%d1%82%d0%b0%d1%82%d1%8c"');
      expect(first.headers.ratelimit).to.equal(`${name};r=1;t=60`);
      await request(app).get('/r').expect(200);
      const denied = await request(app).get('/r').expect(429);
      expect(denied.body['violated-policies']).to.deep.equal([JSON.parse(name)]);
    });
  });
}

describe('Retry-After', () => {
  /** A store that denies or admits each rule as told, with the waits given. */
  function scriptedStore(outcomes: { allowed: boolean; retryAfterMs: number; resetMs: number }[]) {
    return {
      async consume(rules: readonly ConsumeRule[]) {
        return {
          status: outcomes.every((o) => o.allowed) ? ('allowed' as const) : ('limited' as const),
          rules: rules.map((r, i) => ({ key: r.key, limit: r.limit, windowMs: r.windowMs, remaining: 0, ...outcomes[i] })),
        };
      },
    };
  }

  it('is the longest wait among the violated rules only, not the shortest and not an admitted rule’s reset', async () => {
    const app = EXPRESS_MAJORS[0].load()();
    const store = scriptedStore([
      { allowed: false, retryAfterMs: 7_000, resetMs: 7_000 },
      { allowed: true, retryAfterMs: 90_000, resetMs: 3_600_000 }, // admitted: its waits must not count
      { allowed: false, retryAfterMs: 42_000, resetMs: 42_000 },
      { allowed: false, retryAfterMs: 2_000, resetMs: 2_000 },
    ]);
    app.use(limitMiddleware({ cache: new InMemoryCache(), backends: [new IPBackend()], store }));
    app.get('/x', limiter.all(limiter(1, 10), limiter(100, 3600), limiter(2, 60), limiter(3, 5)), (req, res) => res.json({}));
    const res = await request(app).get('/x').expect(429);
    expect(res.headers['retry-after']).to.equal('42');
    expect(res.body.detail).to.equal('Too many requests; retry in 42 s');
    expect(res.body['violated-policies']).to.deep.equal(['1-in-10s', '2-in-60s', '3-in-5s']);
  });
});
