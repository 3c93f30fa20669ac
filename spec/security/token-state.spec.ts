/**
 * @module Token state a client cannot collide, pollute or oversize (issue 8 items 6 and 8, issue 13
 * item 7), on JWTService over InMemoryCache and over RedisCache.
 */
import { expect } from 'chai';
import express from 'express';
import { SignJWT, decodeJwt } from 'jose';
import request from 'supertest';
import { createPrivateKey } from 'node:crypto';
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { MAX_TOKEN_LENGTH } from '../../src/auth/jwt/verify';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { InvalidClaimsError } from '../../src/errors';
import { redisKey } from '../../src/utils/redis-key';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { redisUrl, uniquePrefix } from '../support/redis';

const CACHES = [
  { name: 'InMemoryCache', make: async (): Promise<Cache> => new InMemoryCache() },
  { name: 'RedisCache', make: async (): Promise<Cache> => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('tstate'), logger: quietLogger }) },
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => null, (err: unknown) => err);
}

function expectInvalidClaims(err: unknown): void {
  expect(err).to.be.instanceOf(InvalidClaimsError);
  expect((err as InvalidClaimsError).code).to.equal('ERR_WT_INVALID_CLAIMS');
}

for (const kind of CACHES) {
  describe(`JWTService token state on ${kind.name}`, function () {
    this.timeout(30_000);
    const pem = makeEdKey();
    let cache: Cache;
    let jwt: JWTService;
    beforeEach(async () => {
      cache = await kind.make();
      jwt = new JWTService(cache, { secretKey: pem });
      await jwt.ready;
    });
    afterEach(async () => {
      await jwt.close();
      await cache.close();
    });

    /** A token as the service signs it, with a payload the caller controls (what an older version may have issued). */
    function signAsService(payload: Record<string, unknown>, typ: 'at+jwt' | 'rt+jwt'): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ }).setIssuedAt(now).setExpirationTime(now + 600).sign(createPrivateKey(pem));
    }

    describe('ill-formed UTF-16 subjects (issue 8 item 6)', () => {
      it('refuses a subject with a lone surrogate at createToken and updateToken, storing nothing', async () => {
        for (const sub of ['bob\uD800', 'bob\uDC00x', '\uDBFF']) expectInvalidClaims(await rejection(jwt.createToken({ sub })));
        const [, refresh] = await jwt.createToken({ sub: 'bob\uD83D\uDE00' }); // a well-formed pair is fine
        expectInvalidClaims(await rejection(jwt.updateToken({ sub: 'bob\uD800' }, refresh)));
        expect(await jwt.searchToken(refresh)).to.have.length(1);
      });

      it("keeps 'bob\\uD800' and 'bob\\uFFFD' apart: a token of one can neither list nor end the other's sessions", async () => {
        const [victimAccess, victimRefresh] = await jwt.createToken({ sub: 'bob\uFFFD' });
        const victimJti = decodeJwt(victimRefresh).jti as string;
        // The attacker's token, as an older version would have issued it (signed with the service's key).
        const attacker = await signAsService({ sub: 'bob\uD800', jti: 'attacker-r', fid: 'attacker-f', fgen: 0, token_type: 'refresh' }, 'rt+jwt');
        expect(await jwt.searchToken(attacker)).to.deep.equal([]);
        expect(await jwt.invalidateToken(attacker, victimJti)).to.equal(false);
        expect(await jwt.validateRefreshToken(victimRefresh)).to.not.equal(null);
        expect(await jwt.validateAccessToken(victimAccess)).to.not.equal(null);
        expect(await jwt.searchToken(victimRefresh)).to.deep.equal([victimJti]);
        const [a, b] = [redisKey('p:', 'sess', 'bob\uD800'), redisKey('p:', 'sess', 'bob\uFFFD')];
        expect(Buffer.from(a).equals(Buffer.from(b)), 'UTF-8 keys differ').to.equal(false);
      });
    });

    describe('"__proto__" claims (issue 8 item 8)', () => {
      it('a validly signed token with a "__proto__" member gives req.auth.extra no prototype from it', async () => {
        const app = express();
        app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
        app.get('/me', limiter(10_000, 60), (req, res) => {
          const extra = req.auth!.extra as Record<string, unknown>;
          res.json({ isAdmin: extra.isAdmin ?? null, prototypeIsObject: Object.getPrototypeOf(extra) === Object.prototype, team: extra.team });
        });
        const payload = JSON.parse('{"sub":"eve","jti":"j1","fid":"f1","fgen":0,"token_type":"access","team":"x","__proto__":{"isAdmin":true}}');
        const token = await signAsService(payload, 'at+jwt');
        const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
        expect(res.status).to.equal(200);
        expect(res.headers['content-type']).to.match(/json/);
        expect(res.body).to.deep.equal({ isAdmin: null, prototypeIsObject: true, team: 'x' });
      });

      it('drops "__proto__" from claims given to createToken and from claims re-issued by updateToken', async () => {
        const claims = JSON.parse('{"sub":"eve","__proto__":{"isAdmin":true},"role":"user"}');
        const [access, refresh] = await jwt.createToken(claims);
        expect(Object.keys(decodeJwt(access))).to.not.include('__proto__');
        const [again] = (await jwt.updateToken(refresh))!;
        const payload = (await jwt.validateAccessToken(again))!;
        expect(payload).to.include({ sub: 'eve', role: 'user' });
        expect((payload as Record<string, unknown>).isAdmin).to.equal(undefined);
      });
    });

    describe('token size and shape (issue 13 item 7)', () => {
      it(`refuses claims whose tokens would exceed MAX_TOKEN_LENGTH (${MAX_TOKEN_LENGTH}) before storing anything`, async () => {
        const [, refresh] = await jwt.createToken({ sub: 'big' });
        expectInvalidClaims(await rejection(jwt.createToken({ sub: 'big', blob: 'x'.repeat(6_500) })));
        expectInvalidClaims(await rejection(jwt.updateToken({ sub: 'big', blob: 'x'.repeat(6_500) }, refresh)));
        expect(await jwt.searchToken(refresh)).to.have.length(1); // no session recorded, the refresh token not rotated
        expect(await jwt.updateToken(refresh)).to.be.an('array');
      });

      it('refuses claims nested 2,900 deep, cyclic or not JSON with InvalidClaimsError, storing nothing', async () => {
        const [, refresh] = await jwt.createToken({ sub: 'deep' });
        let nested: Record<string, unknown> = {};
        for (let i = 0; i < 2900; i++) nested = { n: nested };
        const cyclic: Record<string, unknown> = { a: 1 };
        cyclic.self = cyclic;
        for (const extra of [{ nested }, { cyclic }, { big: 10n }, { f: () => 1 }, { n: NaN }]) {
          expectInvalidClaims(await rejection(jwt.createToken({ sub: 'deep', ...extra } as never)));
        }
        expect(await jwt.searchToken(refresh)).to.have.length(1);
      });

      it('a pair at the size limit validates, also through the Authorization header', async () => {
        // The largest padding whose tokens still fit.
        let [low, high] = [0, MAX_TOKEN_LENGTH];
        while (low < high) {
          const mid = Math.ceil((low + high) / 2);
          const ok = await jwt.createToken({ sub: 'edge', pad: 'x'.repeat(mid) }).then(() => true, () => false);
          [low, high] = ok ? [mid, high] : [low, mid - 1];
        }
        const [access, refresh] = await jwt.createToken({ sub: 'edge', pad: 'x'.repeat(low) });
        expect(Math.max(access.length, refresh.length)).to.be.within(MAX_TOKEN_LENGTH - 4, MAX_TOKEN_LENGTH);
        expect(await jwt.validateAccessToken(access)).to.include({ sub: 'edge' });
        expect(await jwt.validateRefreshToken(refresh)).to.include({ sub: 'edge' });
        const app = express();
        app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
        app.get('/me', limiter(10_000, 60), (req, res) => res.json({ user: req.auth?.identifier ?? null }));
        const res = await request(app).get('/me').set('Authorization', `Bearer ${access}`);
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ user: 'edge' });
      });
    });

    describe('one service whatever the cache (issue 10)', () => {
      it('updateToken(refresh) re-issues the claims the refresh token carries, scope and custom claims included', async () => {
        const [, refresh] = await jwt.createToken({ sub: 'ann', scope: 'read write', team: { id: 7 } });
        const [access, next] = (await jwt.updateToken(refresh))!;
        expect(await jwt.validateAccessToken(access)).to.deep.include({ sub: 'ann', scope: 'read write', team: { id: 7 } });
        const [access2] = (await jwt.updateToken({ sub: 'ann', scope: ['admin'] }, next))!;
        expect(await jwt.validateAccessToken(access2)).to.deep.include({ sub: 'ann', scope: ['admin'] });
      });

      it('searchToken and invalidateToken(refresh, jti) work on this cache', async () => {
        const [, r1] = await jwt.createToken({ sub: 'multi' });
        const [a2, r2] = await jwt.createToken({ sub: 'multi' });
        const r2jti = decodeJwt(r2).jti as string;
        expect(await jwt.searchToken(r1)).to.have.members([decodeJwt(r1).jti as string, r2jti]);
        expect(await jwt.invalidateToken(r1, r2jti)).to.equal(true);
        expect(await jwt.validateAccessToken(a2)).to.equal(null);
        expect(await jwt.searchToken(r1)).to.have.length(1);
        expect(await jwt.searchToken('garbage')).to.deep.equal([]);
      });
    });
  });
}

describe('JWTService on a RedisCache', () => {
  it('keeps its sessions in Redis, as RedisJWTService did', async () => {
    const prefix = uniquePrefix('pick');
    const cache = new RedisCache(await redisUrl(), { keyPrefix: prefix, logger: quietLogger });
    const jwt = new JWTService(cache, { secretKey: makeEdKey() });
    try {
      await jwt.createToken({ sub: 'where' });
      expect((await cache.client.keys(`${prefix}*`)).sort()).to.deep.equal([`${prefix}webtool:sess:{where}`, `${prefix}webtool:sidx:{where}`]);
    } finally {
      await jwt.close();
      await cache.close();
    }
  });
});
