/**
 * @module Sessions per subject are capped and every script stays flat in their number (issue 13 item 2):
 * the oldest session is evicted AND revoked, expired ones age out although logins continue, a login
 * at 5,000 sessions costs what one at 1 session costs, and revokeAll publishes one message.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import Redis from 'ioredis';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { InvalidOptionError } from '../../src/errors';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { tokenCaches, useJWTServices } from '../support/jwt-services';
import { redisUrl, uniquePrefix } from '../support/redis';

const secretKey = makeEdKey();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CACHES = tokenCaches('cap');

for (const kind of CACHES) {
  describe(`JWTService maxSessionsPerSubject on ${kind.name}`, function () {
    this.timeout(60_000);
    const fixture = useJWTServices(kind.make, secretKey);
    const make = fixture.make;

    it('holds at most 100 sessions by default: 130 logins evict and revoke the 30 oldest', async () => {
      const jwt = make();
      const pairs: [string, string][] = [];
      for (let i = 0; i < 130; i++) pairs.push(await jwt.createToken({ sub: 'many' }));
      const live = await jwt.searchToken(pairs[129][1]);
      expect(live).to.have.length(100);
      expect(live).to.have.members(pairs.slice(30).map(([, r]) => decodeJwt(r).jti as string));
      for (const [access, refresh] of pairs.slice(0, 30)) {
        expect(await jwt.validateAccessToken(access)).to.equal(null);
        expect(await jwt.validateRefreshToken(refresh)).to.equal(null);
      }
      expect(await jwt.validateAccessToken(pairs[30][0])).to.not.equal(null);
      expect(await jwt.validateRefreshToken(pairs[129][1])).to.not.equal(null);
      expect(await jwt.revokeAll('many')).to.equal(100);
    });

    it('evicts exactly the oldest when logins share a millisecond: 30 subjects × 20 logins in a row under a cap of 10 keep their last 10', async () => {
      // HMAC signs in microseconds: one login after another, several per millisecond, so sessions
      // expire in the same millisecond and only the order they were written in tells the oldest.
      const jwt = make({ maxSessionsPerSubject: 10, secretKey: 'burst-secret-'.repeat(4) });
      for (let subject = 0; subject < 30; subject++) {
        const pairs: [string, string][] = [];
        for (let i = 0; i < 20; i++) pairs.push(await jwt.createToken({ sub: `burst-${subject}` }));
        const live = await jwt.searchToken(pairs[19][1]);
        expect(live, `subject ${subject}`).to.have.members(pairs.slice(10).map(([, r]) => decodeJwt(r).jti as string));
      }
    });

    it('lets expired sessions age out while logins continue', async () => {
      const short = make({ refreshTokenExpireTime: 1, accessTokenExpireTime: 1, maxSessionsPerSubject: 3 });
      const jwt = make({ maxSessionsPerSubject: 3 }); // same store; its sessions last long enough for a loaded machine
      for (let i = 0; i < 3; i++) await short.createToken({ sub: 'ager' });
      await sleep(1100);
      const [, refresh] = await jwt.createToken({ sub: 'ager' });
      expect(await jwt.searchToken(refresh)).to.have.length(1);
      if (fixture.cache() instanceof RedisCache) {
        const hash = (await (fixture.cache() as RedisCache).client.keys(`${(fixture.cache() as RedisCache).keyPrefix}webtool:sess:*`))[0];
        expect(await (fixture.cache() as RedisCache).client.hlen(hash)).to.equal(1);
      }
    });

    it('refuses a cap outside 1..10000 with InvalidOptionError naming it', () => {
      for (const bad of [0, -1, 1.5, 10_001, '5']) {
        expect(() => make({ maxSessionsPerSubject: bad }), String(bad)).to.throw(InvalidOptionError, /maxSessionsPerSubject/);
      }
    });
  });
}

describe('Session scripts on Redis at 5,000 sessions of one subject', function () {
  this.timeout(120_000);
  let cache: RedisCache;
  let jwt: JWTService;
  before(async () => {
    cache = new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('flat'), logger: quietLogger, commandTimeoutMs: 10_000 });
    jwt = new JWTService(cache, { secretKey, maxSessionsPerSubject: 10_000 });
    await jwt.ready;
  });
  after(async () => {
    await jwt.close();
    await cache.close();
  });

  /** Median ms of `n` sequential logins of `sub`. */
  async function medianLoginMs(sub: string, n: number): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = process.hrtime.bigint();
      await jwt.createToken({ sub });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return times.sort((a, b) => a - b)[Math.floor(n / 2)];
  }

  it('a login costs about the same at 1 and at 5,000 sessions; revokeAll publishes ONE message', async () => {
    const alone = await medianLoginMs('alone', 41);
    for (let done = 0; done < 5000; done += 250) {
      await Promise.all(Array.from({ length: 250 }, () => jwt.createToken({ sub: 'crowd' })));
    }
    const crowded = await medianLoginMs('crowd', 41);
    console.log(`      median login: ${alone.toFixed(2)} ms at 1 session, ${crowded.toFixed(2)} ms at 5,000`);
    expect(crowded).to.be.below(alone * 3 + 0.5);

    const subscriber = new Redis(await redisUrl());
    const messages: string[] = [];
    try {
      await subscriber.subscribe(`${cache.keyPrefix}webtool:revoked`);
      subscriber.on('message', (_channel: string, message: string) => messages.push(message));
      expect(await jwt.revokeAll('crowd')).to.equal(5041);
      await sleep(200);
      expect(messages).to.have.length(1);
      expect(messages[0].split(' ')).to.have.length(5041);
    } finally {
      subscriber.disconnect();
    }
  });
});
