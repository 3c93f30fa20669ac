import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { RedisCache } from '../../../src/cache/redis-cache';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { RedisJWTService } from '../../../src/auth/redis-jwt-service';
import { CacheUnavailableError, InvalidOptionError } from '../../../src/errors';
import { makeEdKey } from '../../../src/utils/make-key';
import { redisUrl, startPrivateRedis, uniquePrefix } from '../../support/redis';
import { jwtServiceContract } from './jwt-service.contract';

const quiet = { warn: () => {} };

jwtServiceContract('RedisJWTService on Redis', async (options) => {
  const cache = new RedisCache(await redisUrl(), { logger: quiet });
  let service: RedisJWTService;
  try {
    service = new RedisJWTService(cache, { keyPrefix: uniquePrefix('jwt'), ...options });
  } catch (err) {
    await cache.close();
    throw err;
  }
  const close = service.close.bind(service);
  service.close = async () => {
    await close();
    await cache.close();
  };
  return service;
});

describe('RedisJWTService', () => {
  let cache: RedisCache;
  let jwt: RedisJWTService;
  let keyPrefix: string;
  const secretKey = makeEdKey();
  beforeEach(async () => {
    cache = new RedisCache(await redisUrl(), { logger: quiet });
    keyPrefix = uniquePrefix('rjwt');
    jwt = new RedisJWTService(cache, { secretKey, keyPrefix });
  });
  afterEach(async () => {
    await jwt.close();
    await cache.close();
  });

  it('needs a RedisCache', () => {
    const memory = new InMemoryCache();
    expect(() => new RedisJWTService(memory as never, { secretKey })).to.throw(InvalidOptionError, /RedisCache/);
    void memory.close();
  });

  it('keeps the session state under {sub}-tagged keys with their TTL', async () => {
    await jwt.createToken({ sub: 'tagged' });
    const keys = await cache.client.keys(`${keyPrefix}*`);
    expect(keys.sort()).to.deep.equal([`${keyPrefix}sess:{tagged}`, `${keyPrefix}sidx:{tagged}`]);
    for (const key of keys) {
      const ttl = await cache.client.pttl(key);
      expect(ttl).to.be.greaterThan(604_800_000 - 60_000).and.at.most(604_800_000);
    }
  });

  it('searchToken lists the live sessions; invalidateToken(refresh, jti) ends a chosen one', async () => {
    const [, r1] = await jwt.createToken({ sub: 'multi' });
    const [a2, r2] = await jwt.createToken({ sub: 'multi' });
    await jwt.createToken({ sub: 'someone-else' });
    const jtis = await jwt.searchToken(r1);
    expect(jtis).to.have.length(2);
    const r2jti = JSON.parse(Buffer.from(r2.split('.')[1], 'base64url').toString()).jti;
    expect(jtis).to.include(r2jti);
    expect(await jwt.invalidateToken(r1, r2jti)).to.equal(true);
    expect(await jwt.validateAccessToken(a2)).to.equal(null);
    expect(await jwt.validateRefreshToken(r2)).to.equal(null);
    expect(await jwt.searchToken(r1)).to.have.length(1);
    expect(await jwt.invalidateToken(r1, 'no-such-jti')).to.equal(false);
    expect(await jwt.searchToken('garbage')).to.deep.equal([]);
  });

  it('makes a revocation in one process known to another process', async function () {
    this.timeout(30_000);
    const keyPrefix = uniquePrefix('twoproc');
    const local = new RedisJWTService(cache, { secretKey, keyPrefix });
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'revocation-child.ts'), await redisUrl(), keyPrefix], {
      env: { ...process.env, WT_CHILD_KEY: secretKey },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => (await lines.next()).value as string;
    try {
      expect(await next()).to.equal('ready');
      const [access, refresh] = await local.createToken({ sub: 'shared' });
      child.stdin!.write(`${access}\n`);
      expect(await next()).to.equal('valid');
      const revokedAt = Date.now();
      expect(await local.invalidateToken(refresh)).to.equal(true);
      let seen = 'valid';
      while (seen === 'valid' && Date.now() - revokedAt < 5000) {
        child.stdin!.write(`${access}\n`);
        seen = await next();
      }
      expect(seen).to.equal('null');
      console.log(`      (revocation seen by the other process after ${Date.now() - revokedAt} ms)`);
    } finally {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
      await local.close();
    }
  });

  it('loads revocations made while it was not listening (reload on connect)', async () => {
    const keyPrefix = uniquePrefix('reload');
    const first = new RedisJWTService(cache, { secretKey, keyPrefix });
    const [access, refresh] = await first.createToken({ sub: 'late' });
    await first.invalidateToken(refresh);
    await first.close();
    const late = new RedisJWTService(cache, { secretKey, keyPrefix });
    await late.ready;
    expect(await late.validateAccessToken(access)).to.equal(null);
    await late.close();
  });

  it('fails fast with a typed error while Redis is down; access validation keeps working', async function () {
    this.timeout(20_000);
    const server = await startPrivateRedis();
    const down = new RedisCache(server.url, { logger: quiet, commandTimeoutMs: 300 });
    const service = new RedisJWTService(down, { secretKey, keyPrefix: 'outage:' });
    try {
      const [access, refresh] = await service.createToken({ sub: 'o' });
      expect(await service.validateAccessToken(access)).to.not.equal(null);
      await server.kill();
      for (const attempt of [() => service.createToken({ sub: 'o' }), () => service.updateToken({ sub: 'o' }, refresh), () => service.validateRefreshToken(refresh)]) {
        const started = Date.now();
        const err = await attempt().then(() => null, (e: unknown) => e);
        expect(err).to.be.instanceOf(CacheUnavailableError);
        expect((err as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
        expect(Date.now() - started).to.be.lessThan(1500);
      }
      expect(await service.validateAccessToken(access)).to.not.equal(null);
    } finally {
      await service.close();
      await down.close();
      await server.stop();
    }
  });
});
