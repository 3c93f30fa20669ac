/**
 * @module Soak (issue 13 item 1): once eviction has started, the heap stays flat however many more
 * writes follow — through `WriteOrderedMap` itself and the public structures built on it
 * (`MemoryStore`, `InMemoryCache`, the verified-token cache). Each case arms eviction with one burst
 * past the cap, then runs several equal steps of writes and reads the live heap after a full GC.
 * The old map (one kept `Map` iterator) grew by tens of MB per step here.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import { VerifiedTokenCache } from '../../src/auth/jwt/verified-cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { MemoryStore } from '../../src/throttle/memory-store';
import { WriteOrderedMap } from '../../src/utils/write-ordered-map';

const MB = 1024 * 1024;
const STEPS = 4;
/** Allowed heap growth from the first step to the last (V8's own jitter is ~1–2 MB). */
const FLAT_MB = 6;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / MB;
}

/** Runs `step` STEPS + 1 times (the first settles the heap); returns the growth after the first. */
async function soak(label: string, step: (round: number) => void | Promise<void>): Promise<number> {
  await step(0);
  const readings = [heapMb()];
  for (let round = 1; round <= STEPS; round++) {
    await step(round);
    readings.push(heapMb());
  }
  const growth = Math.max(...readings) - readings[0];
  console.log(`      ${label}: heap ${readings.map((r) => r.toFixed(0)).join(' → ')} MB (growth ${growth.toFixed(1)} MB)`);
  return growth;
}

describe('Heap stays flat once eviction has started (soak)', function () {
  this.timeout(60_000);

  it('WriteOrderedMap: 50,000 live keys, 300,000 rewrites per step after one eviction', async () => {
    const CAP = 50_000;
    const map = new WriteOrderedMap<string, number>(CAP);
    for (let i = 0; i <= CAP; i++) map.set(`k${i}`, i); // one past the cap: eviction has started
    const growth = await soak('WriteOrderedMap', () => {
      for (let i = 0; i < 300_000; i++) map.set(`k${1 + ((i * 7919) % CAP)}`, i);
    });
    expect(map.size).to.equal(CAP);
    expect(map.get('k0')).to.equal(undefined);
    expect(growth).to.be.below(FLAT_MB);
  });

  it('MemoryStore({ maxKeys: 10000 }): 300,000 consume calls per step after a burst of 10,001 identities', async () => {
    const store = new MemoryStore({ maxKeys: 10_000 });
    const consume = (id: number) => store.consume([{ key: `{ip:${id}}:r`, limit: 1e9, windowMs: 60_000, cost: 1, algorithm: 'gcra' }]);
    for (let id = 0; id <= 10_000; id++) await consume(id);
    const growth = await soak('MemoryStore maxKeys 10000', async () => {
      for (let i = 0; i < 300_000; i++) await consume(1 + (i % 10_000));
    });
    expect(store.size).to.equal(10_000);
    expect(growth).to.be.below(FLAT_MB);
    await store.close();
  });

  it('InMemoryCache({ maxEntries: 10000 }): lock and release 100,000 times per step after a burst past the cap', async () => {
    const cache = new InMemoryCache({ maxEntries: 10_000 });
    for (let i = 0; i <= 10_000; i++) await cache.set(`s${i}`, 'v', { ex: 600 });
    const growth = await soak('InMemoryCache lock/release', async () => {
      for (let i = 0; i < 100_000; i++) {
        const lock = await cache.lock(`job:${i % 100}`, { ttlMs: 10_000 });
        await lock.release();
      }
    });
    expect(cache.size).to.be.at.most(10_000);
    expect(growth).to.be.below(FLAT_MB);
    await cache.close();
  });

  it('the verified-token cache (capacity 2,000): 400,000 hits per step after 2,001 distinct tokens', async () => {
    const cache = new VerifiedTokenCache<{ exp: number }>(2000);
    for (let i = 0; i <= 2000; i++) cache.set(`token-${i}`, { exp: i });
    const growth = await soak('VerifiedTokenCache', () => {
      for (let i = 0; i < 400_000; i++) cache.get(`token-${1 + (i % 2000)}`);
    });
    expect(cache.get('token-2000')).to.deep.equal({ exp: 2000 });
    expect(growth).to.be.below(FLAT_MB);
  });
});
