/**
 * @module Issue 8 item 2, cookie farming. A cookie-less anonymous client used to get a fresh signed
 * session on every unlimited route, 404 and 401, each with a full budget of its own: after its IP
 * budget was spent (5 × 200, then 429) 5 farmed cookies bought 25 more admitted requests on a route
 * limited to 5/min. Now a session is minted only where a limit admitted the request and the answer
 * succeeded, and one IP mints at most `mintBudget.limit` (default 10) sessions at once across all
 * routes, whatever the sequence of requests.
 */
import type { Express } from 'express';
import request from 'supertest';
import { expect } from 'chai';
import type { Cache } from '../../src/cache/cache';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { RedisCache } from '../../src/cache/redis-cache';
import { CACHES, cookieOf, EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { deletePrefix } from '../support/redis';

const SECRET = 'f'.repeat(32);
/** The documented default mint budget: a burst of 10 new sessions per IP (10 per cookie lifetime). */
const MINT_LIMIT = 10;

for (const [major, cacheKind] of EXPRESS_MAJORS.flatMap((m) => CACHES.map((c) => [m, c] as const))) {
  const express = () => major.load()() as unknown as Express;
  describe(`AnnoSessionBackend session minting (${major.name}, ${cacheKind.name})`, function () {
    this.timeout(60_000);
    let cache: Cache;
    let app: Express;
    let clientNo = 0;
    let ip: string;

    before(async () => {
      cache = await cacheKind.make();
      app = express();
      app.set('trust proxy', true); // X-Forwarded-For stands in for distinct client addresses
      app.use(limitMiddleware({ cache, annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET }), logger: quietLogger }));
      app.get('/five', limiter(5, 60), (req, res) => res.json({ ok: true }));
      app.get('/a', limiter(1000, 60), (req, res) => res.json({ ok: true }));
      app.get('/b', limiter(1000, 60, ['anno']), (req, res) => res.json({ ok: true }));
      app.post('/c', limiter(1000, 60), (req, res) => res.json({ ok: true }));
      app.get('/guarded', limiter(1000, 60), (req, res) => res.status(401).json({ ok: false }));
      app.get('/free', (req, res) => res.json({ ok: true }));
    });

    beforeEach(() => {
      clientNo++;
      ip = `198.18.${clientNo}.1`;
    });

    after(async () => {
      if (cache instanceof RedisCache) await deletePrefix(cache.client as never, cache.keyPrefix);
      await cache.close();
    });

    it('sets no cookie on unlimited routes, 404s, and admitted requests that end in 401', async () => {
      for (const [method, path, status] of [['get', '/free', 200], ['get', '/nope', 404], ['head', '/free', 200], ['get', '/guarded', 401]] as const) {
        const res = await request(app)[method](path).set('X-Forwarded-For', ip).expect(status);
        expect(res.headers, `${method} ${path}`).to.not.have.property('set-cookie');
      }
    });

    it('the reported attack: after 5 × 200 and a 429, no farmed cookie buys one more request', async () => {
      const statuses: number[] = [];
      const cookies: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await request(app).get('/five').set('X-Forwarded-For', ip);
        statuses.push(res.status);
        if (res.headers['set-cookie']) cookies.push(cookieOf(res.headers['set-cookie']));
      }
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
      // Farming attempts on an unlimited route and a 404:
      for (let i = 0; i < 5; i++) {
        for (const path of ['/free', '/nope']) {
          const res = await request(app).get(path).set('X-Forwarded-For', ip);
          if (res.headers['set-cookie']) cookies.push(cookieOf(res.headers['set-cookie']));
        }
      }
      // Only the 5 admitted requests minted sessions; each is a budget of its own (by design a
      // returning browser is counted by its session), bounded by the admitted requests.
      expect(cookies).to.have.length(5);
      let admitted = 0;
      for (const cookie of cookies) {
        for (let i = 0; i < 6; i++) if ((await request(app).get('/five').set('X-Forwarded-For', ip).set('Cookie', cookie)).status === 200) admitted++;
      }
      expect(admitted).to.equal(25);
      // Before the fix the 10 farming requests above had minted 10 more sessions: 50 more admitted.
    });

    it(`mints at most ${MINT_LIMIT} sessions per IP per minute for a hostile mix of routes, methods and dropped cookies, and keeps serving without minting`, async () => {
      const sequence: [string, string][] = [['get', '/a'], ['get', '/b'], ['post', '/c'], ['head', '/a'], ['get', '/free'], ['get', '/nope'], ['get', '/five']];
      const sessions = new Set<string>();
      const statuses = new Map<string, number[]>();
      for (let round = 0; round < 8; round++) {
        for (const [method, path] of sequence) {
          // Every request drops its cookie; IPv4 and the IPv6 of one /56 alternate to no avail.
          const res = await (request(app) as unknown as Record<string, (p: string) => request.Test>)[method](path).set('X-Forwarded-For', ip);
          const key = `${method} ${path}`;
          statuses.set(key, [...(statuses.get(key) ?? []), res.status]);
          if (res.headers['set-cookie']) sessions.add(cookieOf(res.headers['set-cookie']));
        }
      }
      console.log(`      ${8 * sequence.length} cookie-less requests from one IP: ${sessions.size} sessions minted (bound ${MINT_LIMIT})`);
      expect(sessions.size).to.equal(MINT_LIMIT);
      // (An admitted request that ends in a 401 spends a unit without a cookie: the bound holds either way.)
      // A spent mint budget denies nothing: the limited routes kept admitting by their own rules.
      expect(statuses.get('get /a')).to.deep.equal(Array(8).fill(200));
      expect(statuses.get('post /c')).to.deep.equal(Array(8).fill(200));
      expect(statuses.get('get /five')!.filter((s) => s === 200)).to.have.length(5);
      // Every minted session is a valid one, with a budget of its own: on /five (limit 5) the IP got
      // at most 5 × (1 + 10) admitted requests this window, the bound the README states.
      let admitted = statuses.get('get /five')!.filter((s) => s === 200).length;
      for (const cookie of sessions) {
        for (let i = 0; i < 6; i++) {
          const res = await request(app).get('/five').set('X-Forwarded-For', ip).set('Cookie', cookie);
          expect(res.headers).to.not.have.property('set-cookie');
          if (res.status === 200) admitted++;
        }
      }
      expect(admitted).to.equal(5 * (1 + MINT_LIMIT));
    });

    it('bounds minting per IPv6 /56, not per address', async () => {
      const sessions = new Set<string>();
      for (let i = 0; i < 3 * MINT_LIMIT; i++) {
        const res = await request(app).get('/a').set('X-Forwarded-For', `2001:db8:${clientNo.toString(16)}:${(i % 256).toString(16)}::${i + 1}`).expect(200);
        if (res.headers['set-cookie']) sessions.add(cookieOf(res.headers['set-cookie']));
      }
      expect(sessions.size).to.equal(MINT_LIMIT);
    });

    it('a request admitted by one limiter and denied by the next (429) mints nothing; two admitting limiters mint once', async () => {
      const nested = express();
      nested.set('trust proxy', true);
      nested.use(limitMiddleware({ cache, keyPrefix: 'mint3:', annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET }), logger: quietLogger }));
      nested.use('/api', limiter(1000, 60));
      nested.get('/api/one', limiter(1, 60), (req, res) => res.json({ ok: true }));
      const first = await request(nested).get('/api/one').set('X-Forwarded-For', ip).expect(200);
      expect(first.headers['set-cookie']).to.have.length(1);
      for (let i = 0; i < 3; i++) expect((await request(nested).get('/api/one').set('X-Forwarded-For', ip).expect(429)).headers).to.not.have.property('set-cookie');
    });

    it('a 503 (store unavailable, fail closed) mints no session', async () => {
      const down = express();
      down.use(limitMiddleware({ cache, store: { consume: async () => ({ status: 'unavailable', rules: [] }) }, annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET }), logger: quietLogger }));
      down.get('/a', limiter(1000, 60), (req, res) => res.json({ ok: true }));
      const res = await request(down).get('/a').expect(503);
      expect(res.headers).to.not.have.property('set-cookie');
    });

    it('honours a configured mint budget', async () => {
      const small = express();
      small.set('trust proxy', true);
      small.use(limitMiddleware({ cache, keyPrefix: 'mint2:', annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET, mintBudget: { limit: 2, windowMs: 60_000 } }), logger: quietLogger }));
      small.get('/a', limiter(1000, 60), (req, res) => res.json({ ok: true }));
      let minted = 0;
      for (let i = 0; i < 6; i++) if ((await request(small).get('/a').set('X-Forwarded-For', ip).expect(200)).headers['set-cookie']) minted++;
      expect(minted).to.equal(2);
    });
  });
}

describe('session minting with a custom store that ignores `optional` (the second-call path)', () => {
  it('once the mint budget is spent, cookie-less requests are still decided by their own rules (counted, no cookie), then 429', async () => {
    const { InMemoryCache } = await import('../../src/cache/in-memory-cache');
    const { MemoryStore } = await import('../../src/throttle/memory-store');
    const express = EXPRESS_MAJORS[0].load();
    const inner = new MemoryStore();
    const calls: number[] = [];
    // Drops `optional`: the mint rule then denies like any rule, as a store written before it would.
    const store = { consume: (rules: readonly { optional?: boolean }[]) => (calls.push(rules.length), inner.consume(rules.map(({ optional: _, ...r }) => r) as never)) };
    const cache = new InMemoryCache();
    const app = express() as unknown as Express;
    app.use(limitMiddleware({ cache, store, annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET }), logger: quietLogger }));
    app.get('/r', limiter(MINT_LIMIT + 3, 60), (req, res) => res.json({ ok: true }));
    const statuses: number[] = [];
    const cookies: boolean[] = [];
    for (let i = 0; i < MINT_LIMIT + 4; i++) {
      const res = await request(app).get('/r');
      statuses.push(res.status);
      cookies.push(!!cookieOf(res.headers['set-cookie']));
    }
    // The IP's own limit (MINT_LIMIT + 3) admits that many; only the first MINT_LIMIT get a session.
    expect(statuses).to.deep.equal([...Array(MINT_LIMIT + 3).fill(200), 429]);
    expect(cookies.filter(Boolean)).to.have.length(MINT_LIMIT);
    expect(cookies.slice(MINT_LIMIT)).to.deep.equal([false, false, false, false]);
    // Past the mint budget such a store costs a second call per admitted request (route rules alone);
    // the 429 is decided by the first.
    expect(calls).to.deep.equal([...Array(MINT_LIMIT).fill(2), 2, 1, 2, 1, 2, 1, 2]);
    await inner.close();
    await cache.close();
  });
});
