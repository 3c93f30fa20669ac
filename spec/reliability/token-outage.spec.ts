/**
 * @module Tokens across a Redis outage (RedisJWTService): issue and rotation fail fast with a typed
 * error while Redis is down, never hang, never reject unhandled; nothing issued before is lost or
 * resurrected after a restart with data; after a restart that lost the data, the behaviour is the
 * documented one (refresh tokens issued before are refused: log in again).
 */
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { RedisJWTService } from '../../src/auth/redis-jwt-service';
import { CacheUnavailableError } from '../../src/errors';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { startDurableRedis, type DurableRedis } from '../support/durable-redis';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../support/redis';
import { until } from '../support/until';

const secretKey = makeEdKey();
let unhandled = 0;
const countUnhandled = (): void => {
  unhandled++;
};

describe('Tokens across a Redis outage (RedisJWTService)', function () {
  this.timeout(60_000);
  before(() => process.on('unhandledRejection', countUnhandled));

  async function expectUnavailable(what: string, call: () => Promise<unknown>): Promise<number> {
    const started = Date.now();
    let caught: unknown;
    try {
      await call();
    } catch (err) {
      caught = err;
    }
    const ms = Date.now() - started;
    expect(caught, `${what} should fail while Redis is down`).to.be.instanceOf(CacheUnavailableError);
    expect((caught as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
    return ms;
  }

  describe('Redis restarted with its data (append-only file)', () => {
    let redis: DurableRedis;
    const caches: RedisCache[] = [];
    const services: RedisJWTService[] = [];
    const prefix = uniquePrefix('outage-jwt');

    async function service(): Promise<RedisJWTService> {
      const cache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
      caches.push(cache);
      const jwt = new RedisJWTService(cache, { secretKey });
      services.push(jwt);
      await until('service ready', () => cache.isReady(), 3000);
      await jwt.ready;
      return jwt;
    }

    before(async () => {
      redis = await startDurableRedis();
    });

    after(async () => {
      for (const s of services) await s.close();
      for (const c of caches) await c.close();
      await redis?.stop();
    });

    it('fails issue and rotation fast with ERR_WT_CACHE_UNAVAILABLE while down; afterwards nothing is lost or resurrected', async () => {
      const jwt = await service();
      const [a1, r1] = await jwt.createToken({ sub: 'alice' });
      const [a2, r2] = (await jwt.updateToken({ sub: 'alice' }, r1))!;
      const [b1, rb1] = await jwt.createToken({ sub: 'bob' });
      expect(await jwt.invalidateToken(rb1)).to.equal(true);

      await redis.kill();
      const timings = [
        await expectUnavailable('createToken', () => jwt.createToken({ sub: 'carol' })),
        await expectUnavailable('updateToken', () => jwt.updateToken({ sub: 'alice' }, r2)),
        await expectUnavailable('validateRefreshToken', () => jwt.validateRefreshToken(r2)),
        await expectUnavailable('invalidateToken', () => jwt.invalidateToken(r2)),
        await expectUnavailable('revokeAll', () => jwt.revokeAll('alice')),
      ];
      // Fifty at once: each one settles, typed, none hangs.
      const started = Date.now();
      const settled = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 ? jwt.createToken({ sub: `x${i}` }) : jwt.updateToken({ sub: 'alice' }, r2))));
      timings.push(Date.now() - started);
      expect(settled.every((s) => s.status === 'rejected' && (s.reason as CacheUnavailableError).code === 'ERR_WT_CACHE_UNAVAILABLE')).to.equal(true);
      console.log(`      token calls while down: each failed typed in ≤ ${Math.max(...timings)} ms`);
      expect(Math.max(...timings)).to.be.below(caches[0].commandTimeoutMs + 500);
      // Access validation is local: unaffected by the outage, revocations still honoured.
      expect(await jwt.validateAccessToken(a2)).to.include({ sub: 'alice' });
      expect(await jwt.validateAccessToken(a1)).to.equal(null);
      expect(await jwt.validateAccessToken(b1)).to.equal(null);

      await redis.start();
      await until('cache ready again', () => caches[0].isReady(), 3000);
      // Not resurrected: the rotated, the invalidated and their access tokens stay dead, here and in a process started now.
      const fresh = await service();
      for (const s of [jwt, fresh]) {
        expect(await s.validateAccessToken(a1)).to.equal(null);
        expect(await s.validateAccessToken(b1)).to.equal(null);
        expect(await s.validateAccessToken(a2)).to.include({ sub: 'alice' });
      }
      expect(await fresh.validateRefreshToken(rb1)).to.equal(null);
      // Not lost: the current refresh token still rotates.
      const rotated = await fresh.updateToken({ sub: 'alice' }, r2);
      expect(rotated).to.be.an('array').with.length(2);
      // And reuse detection still knows r1 was rotated: replaying it revokes the family.
      expect(await jwt.updateToken({ sub: 'alice' }, r1)).to.equal(null);
      expect(await fresh.validateRefreshToken(rotated![1])).to.equal(null);
    });
  });

  describe('Redis restarted empty (data lost)', () => {
    let redis: PrivateRedis;
    let cache: RedisCache;
    let jwt: RedisJWTService;
    let fresh: RedisJWTService | undefined;
    let freshCache: RedisCache | undefined;
    const prefix = uniquePrefix('outage-jwt-empty');

    before(async () => {
      redis = await startPrivateRedis();
      cache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
      jwt = new RedisJWTService(cache, { secretKey });
      await jwt.ready;
    });

    after(async () => {
      await fresh?.close();
      await freshCache?.close();
      await jwt?.close();
      await cache?.close();
      await redis?.stop();
    });

    it('refuses refresh tokens issued before (sessions are gone: log in again), keeps serving, and issues new ones', async () => {
      const [c1, rc1] = await jwt.createToken({ sub: 'carol' });
      const [d1, rd1] = await jwt.createToken({ sub: 'dave' });
      expect(await jwt.invalidateToken(rd1)).to.equal(true);
      await redis.restart(); // SIGKILL + a fresh, empty server on the same port
      await until('cache ready again', () => cache.isReady(), 3000);

      expect(await jwt.validateRefreshToken(rc1)).to.equal(null);
      expect(await jwt.updateToken({ sub: 'carol' }, rc1)).to.equal(null);
      // Access tokens are self-contained: valid until their exp; revocations this process saw still hold.
      expect(await jwt.validateAccessToken(c1)).to.include({ sub: 'carol' });
      expect(await jwt.validateAccessToken(d1)).to.equal(null);
      const [c2, rc2] = await jwt.createToken({ sub: 'carol' });
      expect(await jwt.validateAccessToken(c2)).to.include({ sub: 'carol' });
      expect(await jwt.updateToken({ sub: 'carol' }, rc2)).to.be.an('array');

      // Documented, not asserted: a process started after the data loss cannot know revocations made before it.
      freshCache = new RedisCache(redis.url, { keyPrefix: prefix, logger: quietLogger });
      fresh = new RedisJWTService(freshCache, { secretKey });
      await fresh.ready;
      const resurrected = (await fresh.validateAccessToken(d1)) !== null;
      console.log(`      empty restart: refresh tokens issued before → null; a revoked access token in a process started after the loss → ${resurrected ? 'accepted until its exp' : 'refused'}`);
    });
  });

});

describe('Token calls during outages raise no unhandled rejection', () => {
  it('counted none while the suite above killed and restarted Redis', () => {
    process.off('unhandledRejection', countUnhandled);
    expect(unhandled).to.equal(0);
  });
});
