/** @module Attack round 6: revocations shared in-process between services on one cache object and keyPrefix. */
import { expect } from 'chai';
import express from 'express';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { JWTService } from '../../src/auth/jwt-service';
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { redisUrl, uniquePrefix } from '../support/redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const whoami = (req: Request, res: Response) => res.json({ auth: req.auth?.identifier ?? null });
const appFor = (s: JWTService): Express => {
  const a = express();
  a.use(identify({ backends: [new JWTBackend(s)] }));
  a.get('/w', whoami);
  return a;
};
const who = async (a: Express, t: string) => (await request(a).get('/w').set('Authorization', `Bearer ${t}`)).body.auth;

const CACHES: [string, () => Promise<Cache>][] = [
  ['InMemoryCache', async () => new InMemoryCache()],
  ['RedisCache', async () => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('a6rev'), logger: quietLogger })],
];

for (const [name, makeCache] of CACHES) {
  describe(`attack6: shared revocations on ${name}`, () => {
    let cache: Cache;
    const key = makeEdKey();
    const services: JWTService[] = [];
    const svc = (o: Record<string, unknown> = {}) => {
      const s = new JWTService(cache, { secretKey: key, ...o });
      services.push(s);
      return s;
    };
    beforeEach(async () => (cache = await makeCache()));
    afterEach(async () => {
      for (const s of services.splice(0)) await s.close().catch(() => {});
      await cache.close();
    });

    for (const how of ['invalidateToken', 'revokeAll', 'updateToken', 'reuse of a rotated refresh token'] as const) {
      it(`${how} via A: B (same cache, prefix) refuses the warmed access token at once`, async () => {
        const A = svc();
        const B = svc();
        const b = appFor(B);
        const [acc, ref] = await A.createToken({ sub: 'alice' });
        expect(await who(b, acc)).to.equal('alice');
        expect(await who(b, acc)).to.equal('alice');
        if (how === 'invalidateToken') expect(await A.invalidateToken(ref)).to.equal(true);
        else if (how === 'revokeAll') await A.revokeAll('alice');
        else if (how === 'updateToken') expect(await A.updateToken(ref)).to.not.equal(null);
        else {
          const B2 = svc({ rotationGraceTime: 0 });
          const A2 = svc({ rotationGraceTime: 0 });
          const [acc2, ref2] = await A2.createToken({ sub: 'alice' });
          const pair = (await A2.updateToken(ref2))!;
          expect(await who(appFor(B2), pair[0])).to.equal('alice');
          expect(await A2.updateToken(ref2)).to.equal(null); // reuse → family revoked
          expect(await who(appFor(B2), pair[0])).to.equal(null);
          expect(await who(b, pair[0])).to.equal(null);
          void acc2;
          return;
        }
        expect(await who(b, acc)).to.equal(null);
        expect(await B.validateAccessToken(acc)).to.equal(null);
      });
    }

    it('a service created after the revocation (same cache, prefix) refuses the revoked token', async () => {
      const A = svc();
      const [acc, ref] = await A.createToken({ sub: 'bob' });
      await A.invalidateToken(ref);
      const D = svc();
      expect(await D.validateAccessToken(acc), 'at once').to.equal(null);
      expect(await who(appFor(D), acc)).to.equal(null);
    });

    it('a service created after the revocation refuses the revoked token once settled (500 ms later)', async () => {
      const A = svc();
      const [acc, ref] = await A.createToken({ sub: 'bob2' });
      await A.invalidateToken(ref);
      const D = svc();
      await sleep(500);
      expect(await D.validateAccessToken(acc), 'after 500 ms').to.equal(null);
    });

    it('a service created after revokeAll refuses the revoked subject\'s earlier token', async () => {
      const A = svc();
      const [acc] = await A.createToken({ sub: 'bob3' });
      await A.revokeAll('bob3');
      const D = svc();
      await sleep(500);
      expect(await D.validateAccessToken(acc)).to.equal(null);
    });

    it('a service created after a rotation refuses the access token issued before it', async () => {
      const A = svc();
      const [acc, ref] = await A.createToken({ sub: 'bob4' });
      expect(await A.updateToken(ref)).to.not.equal(null);
      const D = svc();
      await sleep(500);
      expect(await D.validateAccessToken(acc)).to.equal(null);
    });

    it('a service with another keyPrefix is not affected by revokeAll of the same subject', async () => {
      const A = svc();
      const C = svc({ keyPrefix: 'other:' });
      const [accC] = await C.createToken({ sub: 'carol' });
      const [accA] = await A.createToken({ sub: 'carol' });
      const c = appFor(C);
      expect(await who(c, accC)).to.equal('carol');
      await A.revokeAll('carol');
      await sleep(50);
      expect(await who(appFor(A), accA)).to.equal(null);
      expect(await who(c, accC)).to.equal('carol');
      expect(await C.validateAccessToken(accC)).to.not.equal(null);
    });

    it('prefix "p" and "p:" / "pa" are separate namespaces (no prefix-of-prefix confusion)', async () => {
      const P = svc({ keyPrefix: 'p' });
      const P2 = svc({ keyPrefix: 'p:' });
      const [acc2] = await P2.createToken({ sub: ':x' });
      const [acc1, ref1] = await P.createToken({ sub: '::x' });
      await P.revokeAll('::x');
      await P.revokeAll(':x');
      await sleep(50);
      expect(await P.validateAccessToken(acc1)).to.equal(null);
      expect(await P2.validateAccessToken(acc2), 'P2 token unaffected by P revocations').to.not.equal(null);
      void ref1;
    });

    it('closing A does not break B: B still learns revocations made by a third service', async () => {
      const A = svc();
      const B = svc();
      await A.close();
      const D = svc();
      const [acc, ref] = await D.createToken({ sub: 'dave' });
      const b = appFor(B);
      expect(await who(b, acc)).to.equal('dave');
      await D.invalidateToken(ref);
      expect(await who(b, acc)).to.equal(null);
      // and B's own revocations reach D
      const [acc2, ref2] = await B.createToken({ sub: 'dave2' });
      expect(await who(appFor(D), acc2)).to.equal('dave2');
      await B.invalidateToken(ref2);
      expect(await who(appFor(D), acc2)).to.equal(null);
    });

    it('a closed service does not keep revocations from reaching others, and closing twice is harmless', async () => {
      const A = svc();
      const B = svc();
      await A.close();
      await A.close();
      const [acc, ref] = await B.createToken({ sub: 'erin' });
      const C = svc();
      expect(await C.validateAccessToken(acc)).to.not.equal(null);
      await B.invalidateToken(ref);
      expect(await C.validateAccessToken(acc)).to.equal(null);
    });

    it('2,000 services created and closed on one cache: no leak, revocations still shared', async function () {
      this.timeout(60000);
      const A = svc();
      const B = svc();
      for (let i = 0; i < 200; i++) {
        const s = new JWTService(cache, { secretKey: key });
        await s.close();
      }
      if (global.gc) global.gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 2000; i++) {
        const s = new JWTService(cache, { secretKey: key });
        if (i % 100 === 0) await s.createToken({ sub: `tmp${i}` });
        await s.close();
      }
      if (global.gc) global.gc();
      await sleep(50);
      if (global.gc) global.gc();
      const grown = process.memoryUsage().heapUsed - before;
      const [acc, ref] = await A.createToken({ sub: 'frank' });
      expect(await B.validateAccessToken(acc)).to.not.equal(null);
      await A.invalidateToken(ref);
      expect(await B.validateAccessToken(acc)).to.equal(null);
      expect(grown, `heap grew ${grown} bytes`).to.be.below(15 * 1024 * 1024);
    });
  });
}

describe('attack6: two RedisCaches with different cache keyPrefixes on one Redis (tenants)', () => {
  it("tenant A's revokeAll('alice') does not revoke tenant B's alice (same JWT keyPrefix, separate cache prefixes)", async () => {
    const url = await redisUrl();
    const ca = new RedisCache(url, { keyPrefix: uniquePrefix('tenA'), logger: quietLogger });
    const cb = new RedisCache(url, { keyPrefix: uniquePrefix('tenB'), logger: quietLogger });
    const key = makeEdKey(); // same signing key on purpose: only the namespace tells them apart
    const A = new JWTService(ca, { secretKey: key });
    const B = new JWTService(cb, { secretKey: key });
    try {
      await sleep(200);
      const [accB] = await B.createToken({ sub: 'alice' });
      const [accA] = await A.createToken({ sub: 'alice' });
      expect(await B.validateAccessToken(accB)).to.not.equal(null);
      await A.revokeAll('alice');
      await sleep(200);
      expect(await A.validateAccessToken(accA)).to.equal(null);
      expect(await B.validateAccessToken(accB), "tenant B's token").to.not.equal(null);
      // a new process of tenant B (reload on connect) must not pick A's revocation either
      const cb2 = new RedisCache(url, { keyPrefix: (cb as any).keyPrefix ?? '', logger: quietLogger });
      void cb2;
      await cb2.close();
    } finally {
      await A.close();
      await B.close();
      await ca.close();
      await cb.close();
    }
  });
});
