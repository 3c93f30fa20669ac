import { expect } from 'chai';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { CacheUnavailableError, InvalidOptionError, LockLimitError, LockTimeoutError } from '../../src/errors';
import { cacheContract } from './cache.contract';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

cacheContract('InMemoryCache', async () => new InMemoryCache());

describe('InMemoryCache', () => {
  it('evicts the least recently written entry beyond maxEntries', async () => {
    const cache = new InMemoryCache({ maxEntries: 3 });
    await cache.set('a', '1');
    await cache.set('b', '2');
    await cache.set('c', '3');
    await cache.set('a', '1b'); // a is now the most recently written
    await cache.set('d', '4');
    expect(cache.size).to.equal(3);
    expect(await cache.get('b')).to.equal(null);
    expect(await cache.get('a')).to.equal('1b');
    expect(await cache.get('d')).to.equal('4');
    await cache.close();
  });

  it('sweeps expired entries it is never asked for again', async () => {
    let now = 1_000_000;
    const cache = new InMemoryCache({ now: () => now });
    for (let i = 0; i < 100; i++) await cache.set(`k${i}`, 'v', { px: 1000 });
    await cache.set('forever', 'v');
    now += 1001;
    expect(cache.size).to.equal(101);
    cache.sweep();
    expect(cache.size).to.equal(1);
    await cache.close();
  });

  it('never evicts a held lock, however many entries are written at maxEntries (issue 8 item 10)', async () => {
    const cache = new InMemoryCache({ maxEntries: 10 });
    const lock = await cache.lock('held', { ttlMs: 60_000 });
    for (let i = 0; i < 1000; i++) await cache.set(`flood-${i}`, 'x');
    expect(cache.size).to.equal(10);
    const err = await cache.lock('held', { timeoutMs: 0 }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(LockTimeoutError);
    expect(await lock.release()).to.equal(true);
    await cache.close();
  });

  it('refuses locks beyond maxLocks (held or waiting) with LockLimitError, evicting none', async () => {
    const cache = new InMemoryCache({ maxLocks: 3 });
    const a = await cache.lock('a');
    await cache.lock('b');
    const waiting = cache.lock('a', { timeoutMs: 5000 }); // the third: a waiter counts
    for (const key of ['c', 'a']) {
      const err = await cache.lock(key, { timeoutMs: 100 }).then(() => null, (e: unknown) => e);
      expect(err, key).to.be.instanceOf(LockLimitError);
      expect((err as LockLimitError).code).to.equal('ERR_WT_LOCK_LIMIT');
    }
    expect(await a.release()).to.equal(true);
    const handed = await waiting; // first in line got it
    expect(await handed.release()).to.equal(true);
    const c = await cache.lock('c', { timeoutMs: 0 });
    expect(await c.release()).to.equal(true);
    await cache.close();
  });

  it('serves lock waiters first come, first served: two re-acquiring holders cannot starve a third (issue 13 item 8)', async () => {
    for (let round = 0; round < 3; round++) {
      const cache = new InMemoryCache();
      let stop = false;
      const holder = async () => {
        while (!stop) {
          const lock = await cache.lock('hot', { ttlMs: 5000, timeoutMs: 5000 }).catch(() => null);
          if (!lock) continue;
          await sleep(10);
          await lock.release();
        }
      };
      const holders = [holder(), holder()];
      await sleep(15);
      const started = Date.now();
      const mine = await cache.lock('hot', { ttlMs: 5000, timeoutMs: 500 }).then((l) => l, (e: unknown) => e);
      stop = true;
      expect(mine, `round ${round}`).to.not.be.instanceOf(Error);
      expect(Date.now() - started).to.be.lessThan(200); // behind at most the two holders
      await (mine as { release(): Promise<boolean> }).release();
      await Promise.all(holders);
      await cache.close();
    }
  });

  it('refuses waiting lock callers when the cache is closed, instead of leaving them hanging', async () => {
    const cache = new InMemoryCache();
    await cache.lock('k');
    const waiting = cache.lock('k', { timeoutMs: 10_000 }).then(() => null, (e: unknown) => e);
    await cache.close();
    const err = await waiting;
    expect(err).to.be.instanceOf(CacheUnavailableError);
    expect((err as CacheUnavailableError).code).to.equal('ERR_WT_CACHE_UNAVAILABLE');
  });

  it('hands an expired lock to the next waiter without waiting for a release', async () => {
    const cache = new InMemoryCache();
    await cache.lock('dropped', { ttlMs: 50 }); // never released
    const started = Date.now();
    const next = await cache.lock('dropped', { timeoutMs: 2000 });
    expect(Date.now() - started).to.be.within(20, 500);
    expect(await next.release()).to.equal(true);
    await cache.close();
  });

  it('refuses a bad maxEntries or maxLocks at construction', () => {
    expect(() => new InMemoryCache({ maxLocks: 0 })).to.throw(InvalidOptionError, /maxLocks/);
    expect(() => new InMemoryCache({ maxEntries: 0 })).to.throw(InvalidOptionError, /maxEntries/);
  });
});
