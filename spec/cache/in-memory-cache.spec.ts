import { expect } from 'chai';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { InvalidOptionError } from '../../src/errors';
import { cacheContract } from './cache.contract';

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

  it('refuses a bad maxEntries at construction', () => {
    expect(() => new InMemoryCache({ maxEntries: 0 })).to.throw(InvalidOptionError, /maxEntries/);
  });
});
