import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisCache } from '../../src/cache/redis-cache';
import { CacheUnavailableError, InvalidOptionError } from '../../src/errors';
import { deletePrefix, freePort, redisUrl, startPrivateRedis, uniquePrefix } from '../support/redis';
import { cacheContract } from './cache.contract';

const quiet = { warn: () => {} };

cacheContract('RedisCache', async () => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('cache'), logger: quiet }));

describe('RedisCache', () => {
  it('accepts a URL, ioredis options or an existing client, and exposes it as .client', async () => {
    const url = await redisUrl();
    const prefix = uniquePrefix('ctor');
    const fromUrl = new RedisCache(url, { keyPrefix: prefix, logger: quiet });
    const { port, hostname } = new URL(url);
    const fromOptions = new RedisCache({ host: hostname, port: Number(port) }, { keyPrefix: prefix, logger: quiet });
    const own = new Redis(url);
    const fromClient = new RedisCache(own, { keyPrefix: prefix, logger: quiet });
    expect(fromClient.client).to.equal(own);
    await fromUrl.set('k', 'v');
    expect(await fromOptions.get('k')).to.equal('v');
    expect(await fromClient.get('k')).to.equal('v');
    expect(await own.get(`${prefix}k`)).to.equal('v');
    await Promise.all([fromUrl.close(), fromOptions.close(), fromClient.close()]);
    // a client passed in is its owner's to close
    expect(await own.ping()).to.equal('PONG');
    await deletePrefix(own, prefix);
    await own.quit();
  });

  it('ready() resolves once connected, and at once when already connected', async () => {
    const cache = new RedisCache(await redisUrl(), { logger: quiet });
    await cache.ready({ timeoutMs: 5000 });
    expect(cache.isReady()).to.equal(true);
    await cache.ready({ timeoutMs: 0 });
    await cache.close();
    const lazy = new Redis(await redisUrl(), { lazyConnect: true });
    const lazyCache = new RedisCache(lazy, { logger: quiet });
    await lazyCache.ready({ timeoutMs: 5000 }); // connects a lazyConnect client
    expect(lazy.status).to.equal('ready');
    await lazyCache.close();
    lazy.disconnect();
    const err = await cache.ready().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(CacheUnavailableError);
  });

  it('ready() rejects a wrong URL with CacheUnavailableError naming host:port, never the password; warnings too (issue 11 item 7)', async () => {
    const port = await freePort(); // nobody listens there
    const warnings: string[] = [];
    const cache = new RedisCache(`redis://admin:s3cret-pass@127.0.0.1:${port}/0`, { logger: { warn: (m) => warnings.push(m) } });
    try {
      const started = Date.now();
      const err = await cache.ready({ timeoutMs: 300 }).then(() => null, (e: unknown) => e);
      expect(Date.now() - started).to.be.within(250, 2000);
      expect(err).to.be.instanceOf(CacheUnavailableError);
      expect((err as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
      expect((err as Error).message).to.include(`127.0.0.1:${port}`).and.include('ECONNREFUSED');
      expect(warnings).to.have.length(1); // once per outage, however many retries
      expect(warnings[0]).to.include(`127.0.0.1:${port}`).and.include('ERR_WT_CACHE_UNAVAILABLE');
      for (const text of [...warnings, (err as Error).message, JSON.stringify(err)]) {
        expect(text).to.not.include('s3cret').and.not.include('admin');
      }
      const bad = await cache.ready({ timeoutMs: -1 }).then(() => null, (e: unknown) => e);
      expect(bad).to.be.instanceOf(InvalidOptionError);
    } finally {
      await cache.close();
    }
  });

  it('refuses a connection argument that is not Redis', () => {
    expect(() => new RedisCache('http://example.com')).to.throw(InvalidOptionError);
    expect(() => new RedisCache(42 as never)).to.throw(InvalidOptionError);
    expect(() => new RedisCache('redis://127.0.0.1:1', { commandTimeoutMs: 0 })).to.throw(InvalidOptionError, /commandTimeoutMs/);
  });

  it('fails fast with CacheUnavailableError while Redis is down, and recovers when it is back', async function () {
    this.timeout(15000);
    const server = await startPrivateRedis();
    const cache = new RedisCache(server.url, { logger: quiet, commandTimeoutMs: 500 });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await cache.set('k', 'v');
      await server.kill();
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const err = await cache.get('k').then(() => null, (e: unknown) => e);
        expect(err).to.be.instanceOf(CacheUnavailableError);
        expect((err as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
      }
      expect(Date.now() - started).to.be.lessThan(2600);
      await server.start();
      const deadline = Date.now() + 5000;
      while (!cache.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(cache.isReady()).to.equal(true);
      expect(await cache.set('k', 'back')).to.equal(true);
      expect(await cache.get('k')).to.equal('back');
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await cache.close();
      await server.stop();
    }
  });
});
