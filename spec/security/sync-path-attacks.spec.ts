/** @module Attack round 6: the synchronous request path (remembered token + in-memory store) and odd backends/stores. */
import { expect } from 'chai';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import type { AuthBackend } from '../../src/auth/backends/backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { IssuerUnavailableError, StoreUnavailableError } from '../../src/errors';
import { errorHandler } from '../../src/express/error-handler';
import { limitMiddleware, type LimitMiddlewareOptions } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { MemoryStore } from '../../src/throttle/memory-store';
import type { ConsumeRule, RateLimitStore } from '../../src/throttle/store';
import { makeEdKey } from '../../src/utils/make-key';
import { collectUnhandled } from '../support/unhandled';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';

const ok = (req: Request, res: Response) => res.json({ ok: true, user: req.auth?.identifier ?? null });
const unhandled: unknown[] = [];
/** A Promises/A+ thenable (then returns a promise, onRejected optional) that is not a native Promise. */
/** Asserts no unhandled rejection/exception happened during the test (checked in the test, so one failure does not abort the suite). */
async function noUnhandled() {
  await new Promise((r) => setTimeout(r, 30));
  expect(unhandled.map(String), 'unhandled rejections/exceptions').to.deep.equal([]);
}
const thenable = <T>(v: T, reject = false) => ({ then: (res?: (x: T) => unknown, rej?: (e: unknown) => unknown) => (reject ? Promise.reject(v) : Promise.resolve(v)).then(res, rej) });

for (const major of EXPRESS_MAJORS) {
  describe(`attack6: sync path on ${major.name}`, () => {
    let cache: InMemoryCache;
    let jwt: JWTService;
    let token: string;
    collectUnhandled(unhandled);
    beforeEach(async () => {
      cache = new InMemoryCache();
      jwt = new JWTService(cache, { secretKey: makeEdKey() });
      [token] = await jwt.createToken({ sub: 'alice' });
    });
    afterEach(async () => {
      await jwt.close();
      await cache.close();
    });
    const mk = (opts: Partial<LimitMiddlewareOptions> = {}) => {
      const a = major.load()() as unknown as Express;
      a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger, ...opts }));
      return a;
    };
    const withEH = (a: Express) => (a.use(errorHandler({ logger: { error: () => {} } } as any)), a);

    const issuerFailures: [string, () => any][] = [
      ['throws IssuerUnavailableError', () => { throw new IssuerUnavailableError('down'); }],
      ['rejects with IssuerUnavailableError', () => Promise.reject(new IssuerUnavailableError('down'))],
      ['returns a thenable rejecting with IssuerUnavailableError', () => thenable(new IssuerUnavailableError('down'), true)],
    ];
    for (const [how, fn] of issuerFailures) {
      it(`a backend that ${how}: 503 problem, warm and cold, no crash`, async () => {
        const be: AuthBackend = { kind: 'user', authenticate: (req) => (req.headers['x-issuer'] ? fn() : null) };
        const a = major.load()() as unknown as Express;
        a.use(limitMiddleware({ cache, backends: [new JWTBackend(jwt), be, new IPBackend()], logger: quietLogger }));
        a.get('/x', limiter(100, 60), ok);
        a.get('/free', ok);
        withEH(a);
        for (let i = 0; i < 2; i++) expect((await request(a).get('/x').set('Authorization', `Bearer ${token}`)).body.user).to.equal('alice');
        for (const path of ['/x', '/free']) {
          const res = await request(a).get(path).set('x-issuer', '1').timeout(3000);
          expect(res.status, path).to.equal(503);
          expect(res.body.code).to.equal('ERR_WT_ISSUER_UNAVAILABLE');
        }
        await noUnhandled();
      });
    }

    for (const [how, fn] of [
      ['a thenable', () => thenable({ identifier: 'bob', scope: null, extra: {} })],
      ['a sync value', () => ({ identifier: 'bob', scope: null, extra: {} })],
      ['a promise', async () => ({ identifier: 'bob', scope: null, extra: {} })],
      ['a thenable that resolves twice', () => ({ then: (r: any) => { r({ identifier: 'bob', scope: null, extra: {} }); r({ identifier: 'eve', scope: null, extra: {} }); } })],
    ] as const) {
      it(`a backend returning ${how} identifies the caller, warm token still first`, async () => {
        const be: AuthBackend = { kind: 'user', authenticate: (req) => (req.headers['x-bob'] ? (fn as any)() : null) };
        const a = major.load()() as unknown as Express;
        a.use(limitMiddleware({ cache, backends: [new JWTBackend(jwt), be, new IPBackend()], logger: quietLogger }));
        a.get('/x', limiter(3, 60), ok);
        withEH(a);
        const out: any[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await request(a).get('/x').set('x-bob', '1').timeout(3000);
          out.push([r.status, r.body.user]);
        }
        expect(out).to.deep.equal([[200, 'bob'], [200, 'bob'], [200, 'bob'], [429, undefined]]);
        for (let i = 0; i < 3; i++) expect((await request(a).get('/x').set('Authorization', `Bearer ${token}`).set('x-bob', '1')).body.user).to.equal('alice');
        await noUnhandled();
      });
    }

    const stores: [string, () => RateLimitStore, number][] = [
      ['consume throws synchronously', () => ({ consume: () => { throw new StoreUnavailableError('x'); } }) as any, 503],
      ['consume returns a thenable rejecting', () => ({ consume: () => thenable(new StoreUnavailableError('x'), true) }) as any, 503],
      ['consumeSync throws StoreUnavailableError', () => { const m = new MemoryStore(); return { consume: (r: any) => m.consume(r), consumeSync: () => { throw new StoreUnavailableError('x'); } }; }, 503],
      ['consume rejects with a plain Error', () => ({ consume: async () => { throw new Error('plain'); } }) as any, 500],
    ];
    for (const [how, make, status] of stores) {
      it(`a custom store whose ${how}: ${status}, no crash, no hang, both paths`, async () => {
        const a = mk({ store: make(), onStoreFailure: 'closed' });
        a.get('/x', limiter(100, 60), ok);
        withEH(a);
        for (const auth of [true, true, false, true]) {
          const r = request(a).get('/x').timeout(3000);
          const res = await (auth ? r.set('Authorization', `Bearer ${token}`) : r);
          expect(res.status, `auth=${auth}`).to.equal(status);
        }
        await noUnhandled();
      });
    }

    it('a custom store whose consume returns a thenable resolving a decision: admitted on both paths', async () => {
      const m = new MemoryStore();
      const a = mk({ store: { consume: (rules: ConsumeRule[]) => ({ then: (res: any, rej: any) => m.consume(rules).then(res, rej) }) as any } });
      a.get('/x', limiter(2, 60), ok);
      withEH(a);
      const got: number[] = [];
      for (let i = 0; i < 3; i++) got.push((await request(a).get('/x').set('Authorization', `Bearer ${token}`).timeout(3000)).status);
      expect(got).to.deep.equal([200, 200, 429]);
      await noUnhandled();
    });

    it('a deny handler that is async and rejects: goes to the error handler (500), no unhandled rejection, no hang', async () => {
      const a = mk({ handler: (async () => { throw new Error('async handler boom'); }) as any });
      a.get('/x', limiter(1, 60), ok);
      withEH(a);
      const got: number[] = [];
      for (let i = 0; i < 3; i++) got.push((await request(a).get('/x').set('Authorization', `Bearer ${token}`).timeout(3000)).status);
      expect(got).to.deep.equal([200, 500, 500]);
      await noUnhandled();
    });

    it('a deny handler that is async and rejects, on the async path (async store): 500, no unhandled rejection', async () => {
      const m = new MemoryStore();
      const a = mk({ store: { consume: (r) => m.consume(r) }, handler: (async () => { throw new Error('async handler boom'); }) as any });
      a.get('/x', limiter(1, 60), ok);
      withEH(a);
      const got: number[] = [];
      for (let i = 0; i < 2; i++) got.push((await request(a).get('/x').timeout(3000).catch(() => ({ status: -1 }))).status);
      expect(got).to.deep.equal([200, 500]);
      await noUnhandled();
    });

    it('a deny handler that answers 418: exactly one response on both paths', async () => {
      let calls = 0;
      const a = mk({ handler: (req, res) => { calls++; res.status(418).json({ teapot: true }); } });
      a.get('/x', limiter(1, 60), ok);
      withEH(a);
      const got: number[] = [];
      for (let i = 0; i < 3; i++) got.push((await request(a).get('/x').set('Authorization', `Bearer ${token}`).timeout(3000)).status);
      for (let i = 0; i < 2; i++) got.push((await request(a).get('/x').timeout(3000)).status);
      expect(got).to.deep.equal([200, 418, 418, 200, 418]);
      expect(calls).to.equal(3);
      await noUnhandled();
    });

    it('mixed warm/cold/anonymous concurrent requests: exact counts per identity and right identity', async () => {
      const a = major.load()() as unknown as Express;
      a.use(limitMiddleware({ cache, backends: [new JWTBackend(jwt), new IPBackend()], logger: quietLogger }));
      a.get('/x', limiter(20, 60), ok);
      a.get('/warm', ok);
      withEH(a);
      const server = a.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const users = await Promise.all(Array.from({ length: 5 }, (_, i) => jwt.createToken({ sub: `m${i}` })));
        // warm half of them
        for (let i = 0; i < 3; i++) await request(server).get('/warm').set('Authorization', `Bearer ${users[i][0]}`);
        const reqs: Promise<[string, number, string | null]>[] = [];
        for (let k = 0; k < 30; k++) {
          for (let i = 0; i < 5; i++) reqs.push(request(server).get('/x').set('Authorization', `Bearer ${users[i][0]}`).then((r) => [`m${i}`, r.status, r.body.user ?? null]));
          reqs.push(request(server).get('/x').then((r) => ['anon', r.status, r.body.user ?? null]));
        }
        const res = await Promise.all(reqs);
        const admitted: Record<string, number> = {};
        for (const [who, st, user] of res) {
          if (st === 200) {
            admitted[who] = (admitted[who] ?? 0) + 1;
            expect(user).to.equal(who === 'anon' ? null : who);
          } else expect(st).to.equal(429);
        }
        expect(admitted).to.deep.equal({ m0: 20, m1: 20, m2: 20, m3: 20, m4: 20, anon: 20 });
      } finally {
        server.close();
      }
      await noUnhandled();
    });

    it('delete req.auth after identify(): anonymous for limiter scopes on the sync path', async () => {
      const a = major.load()() as unknown as Express;
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.use((req: Request, res: Response, next: NextFunction) => { delete req.auth; next(); });
      a.get('/w', (req, res) => res.json({ auth: req.auth ?? null, has: 'auth' in req }));
      for (let i = 0; i < 3; i++) {
        const r = await request(a).get('/w').set('Authorization', `Bearer ${token}`);
        expect(r.body).to.deep.equal({ auth: null, has: false });
      }
      await noUnhandled();
    });
  });
}
