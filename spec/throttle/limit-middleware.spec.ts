import { expect } from 'chai';
import request from 'supertest';
import type { Express, Request } from 'express';
import type { Cache } from '../../src/cache/cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { CACHES, EXPRESS_MAJORS, quietLogger } from '../support/app-factory';

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
