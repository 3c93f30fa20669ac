/**
 * @module A rotation whose reply was lost is retried deterministically (issue 13 item 11): the same
 * refresh token presented again within the grace, before the new refresh token was used, answers the
 * same pair instead of counting as reuse; a replay after the new token was used, or after the grace,
 * is still reuse. A lost reply is reported as OutcomeUnknownError, a command never sent as
 * CacheUnavailableError.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import Redis from 'ioredis';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { CacheUnavailableError, OutcomeUnknownError } from '../../src/errors';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { tokenCaches, useJWTServices } from '../support/jwt-services';
import { startPrivateRedis } from '../support/redis';
import { until } from '../support/until';

const secretKey = makeEdKey();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jtis = (pair: [string, string]) => [decodeJwt(pair[0]).jti, decodeJwt(pair[1]).jti];

const CACHES = tokenCaches('retry');

for (const kind of CACHES) {
  describe(`Retried rotation on JWTService over ${kind.name}`, function () {
    this.timeout(30_000);
    const fixture = useJWTServices(kind.make, secretKey);
    const make = fixture.make;

    it('answers the same pair to a retry, in this process or another; the family survives', async () => {
      const jwt = make();
      const other = make();
      const [, r1] = await jwt.createToken({ sub: 'retry', scope: 'read' });
      const first = (await jwt.updateToken(r1))!;
      const again = (await jwt.updateToken(r1))!;
      expect(jtis(again)).to.deep.equal(jtis(first));
      expect(decodeJwt(again[0]).iat).to.equal(decodeJwt(first[0]).iat);
      if (kind.name === 'RedisCache') expect(jtis((await other.updateToken(r1))!)).to.deep.equal(jtis(first));
      expect(await jwt.validateAccessToken(again[0])).to.include({ sub: 'retry', scope: 'read' });
      expect(await jwt.validateRefreshToken(first[1])).to.not.equal(null);
    });

    it('still treats a replay as reuse once the new refresh token was used, and revokes the family', async () => {
      const jwt = make();
      const [, r1] = await jwt.createToken({ sub: 'stolen' });
      const [a2, r2] = (await jwt.updateToken(r1))!;
      const [a3, r3] = (await jwt.updateToken(r2))!; // the legitimate client moved on
      expect(await jwt.updateToken(r1)).to.equal(null); // the thief replays the first token
      expect(await jwt.updateToken(r2)).to.equal(null);
      for (const access of [a2, a3]) expect(await jwt.validateAccessToken(access)).to.equal(null);
      expect(await jwt.validateRefreshToken(r3)).to.equal(null);
    });

    it('treats a replay after the grace as reuse', async () => {
      const jwt = make({ rotationGraceTime: 1 });
      const [, r1] = await jwt.createToken({ sub: 'late' });
      const [a2, r2] = (await jwt.updateToken(r1))!;
      await sleep(1100);
      expect(await jwt.updateToken(r1)).to.equal(null);
      expect(await jwt.validateAccessToken(a2)).to.equal(null);
      expect(await jwt.validateRefreshToken(r2)).to.equal(null);
    });
  });
}

describe('A rotation whose reply is lost on Redis', function () {
  this.timeout(30_000);

  it('reports OutcomeUnknownError; the retry gets a working pair instead of revoking the family', async () => {
    const server = await startPrivateRedis();
    const cache = new RedisCache(server.url, { logger: quietLogger, commandTimeoutMs: 150 });
    const admin = new Redis(server.url);
    const jwt = new JWTService(cache, { secretKey });
    try {
      await until('ready', () => cache.isReady(), 3000);
      const [, r1] = await jwt.createToken({ sub: 'failover' });
      // Writes (and write scripts) wait 600 ms: the reply outlives the timeout, the script runs later.
      await admin.call('CLIENT', 'PAUSE', '600', 'WRITE');
      const err = await jwt.updateToken(r1).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(OutcomeUnknownError);
      expect(err).to.be.instanceOf(CacheUnavailableError);
      expect((err as OutcomeUnknownError).code).to.equal('ERR_WT_OUTCOME_UNKNOWN');
      await sleep(700); // the first attempt has now been applied
      const pair = (await jwt.updateToken(r1))!;
      expect(pair, 'the retry is not taken for reuse').to.be.an('array');
      expect(await jwt.validateAccessToken(pair[0])).to.include({ sub: 'failover' });
      expect(await jwt.validateRefreshToken(pair[1])).to.not.equal(null);

      // Never sent (Redis gone): a plain CacheUnavailableError.
      await server.kill();
      await until('down', () => !cache.isReady(), 3000);
      const failed = await jwt.updateToken(pair[1]).then(() => null, (e: unknown) => e);
      expect(failed).to.be.instanceOf(CacheUnavailableError);
      expect((failed as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
    } finally {
      await jwt.close();
      admin.disconnect();
      await cache.close();
      await server.stop();
    }
  });
});

describe('A session change over a generic cache whose lock expired meanwhile', () => {
  it('reports OutcomeUnknownError (the release() result is checked), and the retry succeeds', async () => {
    const cache = new InMemoryCache();
    let lose = false;
    const lock = cache.lock.bind(cache);
    cache.lock = async (key, options) => {
      const held = await lock(key, options);
      const release = held.release.bind(held);
      return { key: held.key, token: held.token, extend: held.extend.bind(held), release: async () => (await release()) && !lose };
    };
    const jwt = new JWTService(cache, { secretKey });
    try {
      const [, r1] = await jwt.createToken({ sub: 'slow' });
      lose = true;
      const err = await jwt.updateToken(r1).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(OutcomeUnknownError);
      expect((err as OutcomeUnknownError).code).to.equal('ERR_WT_OUTCOME_UNKNOWN');
      lose = false;
      const pair = (await jwt.updateToken(r1))!;
      expect(await jwt.validateAccessToken(pair[0])).to.include({ sub: 'slow' });
    } finally {
      await jwt.close();
      await cache.close();
    }
  });
});
