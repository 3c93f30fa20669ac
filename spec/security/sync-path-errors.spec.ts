/** @module Attack: throwing functions, handlers and backends on the sync and async paths; headers on both paths. */
import { expect } from 'chai';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import type { AuthBackend } from '../../src/auth/backends/backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { errorHandler } from '../../src/express/error-handler';
import { limitMiddleware, type LimitMiddlewareOptions } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { collectUnhandled } from '../support/unhandled';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { redisUrl, uniquePrefix } from '../support/redis';

const ok = (req: Request, res: Response) => res.json({ ok: true, user: req.auth?.identifier ?? null });

const unhandled: unknown[] = [];

for (const major of EXPRESS_MAJORS) {
  for (const storeKind of ['memory', 'redis'] as const) {
    describe(`attack: errors and headers on ${major.name}, ${storeKind} store`, () => {
      let cache: InMemoryCache | RedisCache;
      let jwt: JWTService;
      let token: string;
      collectUnhandled(unhandled);
      beforeEach(async () => {
        cache = storeKind === 'memory' ? new InMemoryCache() : new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('atk'), logger: quietLogger });
        jwt = new JWTService(cache, { secretKey: makeEdKey() });
        [token] = await jwt.createToken({ sub: 'alice' });
      });
      afterEach(async () => {
        await new Promise((r) => setTimeout(r, 20));
        expect(unhandled, 'unhandled rejections/exceptions').to.deep.equal([]);
        await jwt.close();
        await cache.close();
      });
      const mk = (opts: Partial<LimitMiddlewareOptions> = {}) => {
        const a = major.load()() as unknown as Express;
        a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger, ...opts }));
        return a;
      };
      const withEH = (a: Express) => (a.use(errorHandler({ logger: { error: () => {} } } as any)), a);

      // Warm the token so later requests take the sync path (memory store).
      const warm = async (a: Express, path = '/warm') => {
        await request(a).get(path).set('Authorization', `Bearer ${token}`);
        await request(a).get(path).set('Authorization', `Bearer ${token}`);
      };

      for (const fn of ['skip', 'maxRequests', 'cost'] as const) {
        for (const how of ['throws', 'returns a rejected Promise', 'returns a Promise of NaN', 'returns NaN'] as const) {
          it(`a ${fn} function that ${how}: problem 500 ERR_WT_CONFIGURATION, token reused`, async () => {
            const bad: any = how === 'throws' ? () => { throw new Error('boom'); } : how === 'returns NaN' ? () => NaN : how === 'returns a Promise of NaN' ? () => Promise.resolve(NaN) : () => Promise.reject(new Error('async boom'));
            const a = mk();
            a.get('/warm', ok);
            const rule = fn === 'skip' ? limiter(10, 60, [], { skip: bad }) : fn === 'cost' ? limiter(10, 60, [], { cost: bad }) : limiter(bad, 60);
            a.get('/x', rule, ok);
            withEH(a);
            await warm(a);
            for (const auth of [true, false, true]) {
              const r = request(a).get('/x');
              const res = await (auth ? r.set('Authorization', `Bearer ${token}`) : r);
              if (fn === 'skip' && how.includes('NaN')) {
                // skip reads truthiness (pre-existing): NaN is falsy, so counted; never a crash
                expect([200, 500]).to.include(res.status);
                continue;
              }
              expect(res.status).to.equal(500);
              expect(res.headers['content-type']).to.match(/problem\+json/);
              expect(res.body.code).to.equal('ERR_WT_CONFIGURATION');
            }
          });
        }
      }

      for (const [name, skipFn] of [['async skip resolving true', async () => true], ['sync skip true', () => true]] as const) {
        it(`${name} exempts on both paths`, async () => {
          const a = mk();
          a.get('/x', limiter(1, 60, [], { skip: skipFn as any }), ok);
          a.get('/g', ok);
          for (let i = 0; i < 4; i++) expect((await request(a).get('/x').set('Authorization', `Bearer ${token}`)).status).to.equal(200);
          for (let i = 0; i < 4; i++) expect((await request(a).get('/x')).status).to.equal(200);
        });
      }

      it('an async maxRequests (resolving 2) counts 2 on both paths', async () => {
        const a = mk();
        a.get('/x', limiter(async () => 2, 60), ok);
        const got: number[] = [];
        for (let i = 0; i < 4; i++) got.push((await request(a).get('/x').set('Authorization', `Bearer ${token}`)).status);
        expect(got).to.deep.equal([200, 200, 429, 429]);
      });

      it('an async global skip resolving true exempts on both paths', async () => {
        const a = mk({ skip: async () => true });
        a.get('/x', limiter(1, 60), ok);
        for (let i = 0; i < 4; i++) expect((await request(a).get('/x').set('Authorization', `Bearer ${token}`)).status).to.equal(200);
      });

      it('a global skip that throws: problem 500, never a crash', async () => {
        const a = mk({ skip: () => { throw new Error('skip boom'); } });
        a.get('/warm', ok);
        a.get('/x', limiter(10, 60), ok);
        withEH(a);
        await warm(a);
        for (const auth of [true, false]) {
          const r = request(a).get('/x');
          const res = await (auth ? r.set('Authorization', `Bearer ${token}`) : r);
          expect(res.status).to.equal(500);
          expect(res.body.code).to.equal('ERR_WT_CONFIGURATION');
        }
      });

      for (const kind of ['throws', 'next(err)'] as const) {
        it(`a deny handler that ${kind}: goes to the error handler, no crash`, async () => {
          const handler: any =
            kind === 'throws' ? () => { throw new Error('handler boom'); }
            : kind === 'next(err)' ? (req: Request, res: Response, next: NextFunction) => next(new Error('handler next'))
            : async () => { throw new Error('handler async boom'); };
          const a = mk({ handler });
          a.get('/warm', ok);
          a.get('/x', limiter(1, 60), ok);
          withEH(a);
          await warm(a);
          for (const auth of [true, true, false, false]) {
            const r = request(a).get('/x').timeout(3000);
            const res = await (auth ? r.set('Authorization', `Bearer ${token}`) : r);
            expect([200, 500]).to.include(res.status);
          }
        });
      }

      for (const kind of ['sync throw', 'rejected promise', 'throw in getter'] as const) {
        it(`a custom backend that does "${kind}" is "not mine" (no 500, no crash), warmed and cold`, async () => {
          const bad: AuthBackend = {
            kind: 'user',
            authenticate: kind === 'sync throw' ? () => { throw new Error('be'); } : kind === 'rejected promise' ? () => Promise.reject(new Error('be')) : () => ({ get identifier(): string { throw new Error('getter'); }, scope: null, extra: {} }) as any,
          };
          const a = major.load()() as unknown as Express;
          a.use(limitMiddleware({ cache, backends: [new JWTBackend(jwt), bad, new IPBackend()], logger: quietLogger }));
          a.get('/warm', ok);
          a.get('/x', limiter(100, 60), ok);
          withEH(a);
          await warm(a);
          expect((await request(a).get('/x').set('Authorization', `Bearer ${token}`)).body.user).to.equal('alice');
          const res = await request(a).get('/x');
          if (kind === 'throw in getter') expect([200, 500]).to.include(res.status);
          else expect(res.status).to.equal(200);
        });
      }

      it('RateLimit headers and 429 Retry-After on the token-reused path equal those on the first path', async () => {
        const a = mk();
        a.get('/x', limiter(3, 60), ok);
        const seen: any[] = [];
        for (let i = 0; i < 4; i++) {
          const res = await request(a).get('/x').set('Authorization', `Bearer ${token}`);
          seen.push({ s: res.status, p: res.headers['ratelimit-policy'], r: res.headers['ratelimit'], ra: res.headers['retry-after'], ex: res.headers['access-control-expose-headers'] });
        }
        expect(seen.map((x) => x.s)).to.deep.equal([200, 200, 200, 429]);
        for (const x of seen) expect(x.p).to.equal('"3-in-60s";q=3;w=60');
        expect(seen.map((x) => x.r?.match(/r=(\d+)/)?.[1])).to.deep.equal(['2', '1', '0', '0']);
        expect(seen[3].ra).to.match(/^\d+$/);
        expect(Number(seen[3].ra)).to.be.within(1, 60);
        for (const x of seen) expect(x.ex).to.match(/RateLimit/i);
      });

      it('legacy headers present on the sync path', async () => {
        const a = mk({ legacyHeaders: true });
        a.get('/x', limiter(3, 60), ok);
        for (let i = 0; i < 3; i++) {
          const res = await request(a).get('/x').set('Authorization', `Bearer ${token}`);
          expect(res.headers['x-ratelimit-limit']).to.equal('3');
          expect(res.headers['x-ratelimit-remaining']).to.equal(String(2 - i));
        }
      });

      it('anonymous session cookie: offered on an admitted request, not on a 429, on both paths', async () => {
        const a = major.load()() as unknown as Express;
        a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 'x'.repeat(32) }), logger: quietLogger }));
        a.get('/x', limiter(1, 60), ok);
        const first = await request(a).get('/x');
        expect(first.status).to.equal(200);
        expect(first.headers['set-cookie']).to.be.an('array');
        const second = await request(a).get('/x');
        expect(second.status).to.equal(429);
        expect(second.headers['set-cookie']).to.equal(undefined);
        // a user never gets an anonymous cookie
        const u1 = await request(a).get('/x').set('Authorization', `Bearer ${token}`);
        const u2 = await request(a).get('/x').set('Authorization', `Bearer ${token}`);
        expect(u1.headers['set-cookie']).to.equal(undefined);
        expect(u2.headers['set-cookie']).to.equal(undefined);
      });

      it('hostile Authorization headers never 500', async () => {
        const a = mk();
        a.get('/x', limiter(1000, 60), ok);
        withEH(a);
        const heads = [
          'Bearer', 'Bearer ', 'Bearer  ' + token, 'bearer ' + token, 'BEARER ' + token, 'Bearer ' + token + ' ', 'Bearer ' + token + '==',
          'Bearer ' + 'a'.repeat(9000), 'Bearer ' + 'a.b.c', 'Bearer ' + token + ',Bearer ' + token, 'Basic ' + token, 'Bearer\t' + token,
          'Bearer ' + token.split('.').slice(0, 2).join('.') + '.', 'Bearer ' + '\u00e9', 'Bearer __proto__', 'Bearer constructor',
        ];
        for (const h of heads) {
          for (let i = 0; i < 2; i++) {
            const res = await request(a).get('/x').set('Authorization', h);
            expect(res.status, h.slice(0, 40)).to.equal(200);
          }
        }
      });
    });
  }
}
