/**
 * @module Revocations no client can grow, and none forgotten early (issue 13 item 5, issue 8 item 7):
 * rotations replace their family's entry instead of adding one, the registry is capped with a
 * fail-closed fallback, and a revocation lasts until the revoked token's own exp plus the tolerance,
 * whatever lifetime the revoking deployment is configured with.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { RedisJWTService } from '../../src/auth/redis-jwt-service';
import { RevocationRegistry } from '../../src/auth/jwt/revocation-registry';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { redisUrl, uniquePrefix } from '../support/redis';
import { sleep, startOfSecond } from '../support/until';

const secretKey = makeEdKey();
const registryOf = (jwt: JWTService) => (jwt as unknown as { ctx: { registry: RevocationRegistry } }).ctx.registry;

const CACHES = [
  { name: 'InMemoryCache', make: async (): Promise<Cache> => new InMemoryCache() },
  { name: 'RedisCache', make: async (): Promise<Cache> => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('rv'), logger: quietLogger }) },
];

for (const kind of CACHES) {
  describe(`Revocations of JWTService on ${kind.name}`, function () {
    this.timeout(60_000);
    let cache: Cache;
    let jwt: JWTService;
    beforeEach(async () => {
      cache = await kind.make();
      jwt = new JWTService(cache, { secretKey });
      await jwt.ready;
    });
    afterEach(async () => {
      await jwt.close();
      await cache.close();
    });

    it('1,000 rotations of one family leave ONE revocation entry, and every earlier access token revoked', async () => {
      let [access, refresh] = await jwt.createToken({ sub: 'spinner' });
      const earlier: string[] = [];
      for (let i = 0; i < 1000; i++) {
        earlier.push(access);
        [access, refresh] = (await jwt.updateToken(refresh))!;
      }
      expect(registryOf(jwt).size).to.equal(1);
      if (cache instanceof RedisCache) {
        const [rv] = await cache.client.keys(`${cache.keyPrefix}webtool:rv:*`);
        expect(await cache.client.zcard(rv)).to.equal(1);
      }
      for (const old of [earlier[0], earlier[500], earlier[999]]) expect(await jwt.validateAccessToken(old)).to.equal(null);
      expect(await jwt.validateAccessToken(access)).to.include({ sub: 'spinner' });
    });
  });
}

describe('RevocationRegistry', () => {
  it('holds at most maxEntries; over the cap it refuses the tokens a dropped entry covered, not later ones', () => {
    const registry = new RevocationRegistry(1000, 60_000);
    const base = Date.now() + 3_600_000;
    for (let i = 0; i < 5000; i++) registry.add({ kind: 'f', id: `fam${i}`, untilMs: base + i + 60_000 });
    expect(registry.size).to.equal(1000);
    // fam0 was dropped: its token (exp = base) is still refused, and so is any token expiring as early.
    expect(registry.isRevoked('j', 'fam0', 0, base)).to.equal(true);
    expect(registry.isRevoked('j', 'other', 0, base + 3000)).to.equal(true);
    expect(registry.isRevoked('j', 'fam4999', 0, base + 4999)).to.equal(true);
    // A token issued later than the revoked ones expires later: valid.
    expect(registry.isRevoked('j', 'other', 0, base + 10_000)).to.equal(false);
    registry.close();
  });

  it('keeps one entry per family: a generation revocation and a family revocation merge', () => {
    const registry = new RevocationRegistry();
    registry.add({ kind: 'g', id: 'f1', gen: 3, untilMs: Date.now() + 1000 });
    expect(registry.isRevoked('x', 'f1', 2)).to.equal(true);
    expect(registry.isRevoked('x', 'f1', 3)).to.equal(false);
    registry.add({ kind: 'f', id: 'f1', untilMs: Date.now() + 500 });
    expect(registry.size).to.equal(1);
    expect(registry.isRevoked('x', 'f1', 3)).to.equal(true);
    registry.close();
  });
});

describe('A revocation on Redis lasts until the revoked token expires (issue 8 item 7)', function () {
  this.timeout(30_000);

  it('a token issued for 3600 s and revoked by a deployment configured for 1 s stays revoked, also for a new process', async () => {
    const cache = new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('rvlife'), logger: quietLogger });
    const issuer = new RedisJWTService(cache, { secretKey, accessTokenExpireTime: 3600 });
    const revoker = new RedisJWTService(cache, { secretKey, accessTokenExpireTime: 1, clockTolerance: 1 });
    let late: JWTService | undefined;
    try {
      const [access, refresh] = await issuer.createToken({ sub: 'long' });
      expect(await revoker.invalidateToken(refresh)).to.equal(true);
      await sleep(2500);
      registryOf(revoker).sweep();
      expect(await revoker.validateAccessToken(access)).to.equal(null);
      late = new RedisJWTService(cache, { secretKey, accessTokenExpireTime: 1 });
      await late.ready;
      expect(await late.validateAccessToken(access)).to.equal(null);
    } finally {
      await late?.close();
      await revoker.close();
      await issuer.close();
      await cache.close();
    }
  });
});

describe('A revocation with the app clock ahead of Redis (issue 8 item 7)', function () {
  this.timeout(30_000);

  it('still holds once Redis time + the configured lifetime has passed in app time, also for a new process', async () => {
    const realNow = Date.now;
    Date.now = () => realNow() + 2000; // this process runs 2 s ahead of the Redis server
    const cache = new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('skew'), logger: quietLogger });
    const jwt = new RedisJWTService(cache, { secretKey, accessTokenExpireTime: 3 });
    let late: JWTService | undefined;
    try {
      await startOfSecond(); // whole-second exp: the token then lives about 3 s
      const [access, refresh] = await jwt.createToken({ sub: 'skewed' });
      expect(await jwt.invalidateToken(refresh)).to.equal(true);
      await sleep(1500); // Redis time + 3 s is now behind app time; the token itself is valid 1.5 s more
      expect(decodeJwt(access).exp! * 1000, 'the token must not have expired: null below is the revocation').to.be.above(Date.now());
      registryOf(jwt).sweep();
      expect(await jwt.validateAccessToken(access)).to.equal(null);
      late = new RedisJWTService(cache, { secretKey, accessTokenExpireTime: 3 });
      await late.ready;
      expect(await late.validateAccessToken(access)).to.equal(null);
    } finally {
      Date.now = realNow;
      await late?.close();
      await jwt.close();
      await cache.close();
    }
  });
});
