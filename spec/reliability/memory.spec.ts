/**
 * @module Memory: InMemoryCache and the in-memory limiter (MemoryStore) under 1,000,000 distinct
 * identities stay under their documented caps (InMemoryCache `maxEntries`, default 100,000;
 * MemoryStore `maxKeys`, default 1,000,000), expired entries are swept, and the heap growth is
 * measured (after a full GC) and printed.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { MemoryStore } from '../../src/throttle/memory-store';
import type { ConsumeRule } from '../../src/throttle/store';

const IDENTITIES = 1_000_000;
const MB = 1024 * 1024;

// A full GC before each reading makes heap figures comparable (the flag can be set at run time).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapMb(): { heap: number; rss: number } {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed / MB, rss: rss / MB };
}

/** Runs `fn` and reports the live-heap and RSS growth it left behind. */
async function growth(label: string, fn: () => Promise<void>): Promise<{ heap: number; rss: number }> {
  const before = heapMb();
  await fn();
  const after = heapMb();
  const delta = { heap: after.heap - before.heap, rss: after.rss - before.rss };
  console.log(`      ${label}: heap +${delta.heap.toFixed(0)} MB, RSS +${delta.rss.toFixed(0)} MB`);
  return delta;
}

const rule = (i: number, algorithm: ConsumeRule['algorithm'] = 'sliding-log'): ConsumeRule => ({
  key: `webtool:rl:{a:ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}}:/api/items:100:60000`,
  limit: 100,
  windowMs: 60_000,
  cost: 1,
  algorithm,
});

describe('In-memory state stays bounded under 1,000,000 distinct identities', function () {
  // Each case is O(1) per operation, a few seconds; an O(cap) eviction takes minutes and fails here.
  this.timeout(30_000);
  let clock = Date.now();
  const now = () => clock;

  it('InMemoryCache keeps at most maxEntries (default 100,000), evicting the oldest write, and sweeps expired entries', async () => {
    let cache: InMemoryCache | undefined = new InMemoryCache({ now });
    const delta = await growth(`InMemoryCache, ${IDENTITIES} identities (cap ${cache.maxEntries})`, async () => {
      for (let i = 0; i < IDENTITIES; i++) await cache!.set(`session:{user-${i}}`, `{"sub":"user-${i}","n":${i}}`, { ex: 60 });
    });
    expect(cache.maxEntries).to.equal(100_000);
    expect(cache.size).to.equal(100_000);
    // The newest identities are kept, the oldest evicted.
    expect(await cache.get(`session:{user-${IDENTITIES - 1}}`)).to.equal(`{"sub":"user-${IDENTITIES - 1}","n":${IDENTITIES - 1}}`);
    expect(await cache.get('session:{user-0}')).to.equal(null);
    expect(delta.heap).to.be.below(100);
    clock += 61_000;
    cache.sweep();
    expect(cache.size).to.equal(0);
    await cache.close();
    cache = undefined;
  });

  for (const algorithm of ['sliding-log', 'gcra'] as const) {
    it(`MemoryStore (${algorithm}) holds one entry per identity up to maxKeys (default 1,000,000) and sweeps them after the window`, async () => {
      let store: MemoryStore | undefined = new MemoryStore({ now });
      const delta = await growth(`MemoryStore ${algorithm}, ${IDENTITIES} identities (cap ${store.maxKeys})`, async () => {
        for (let i = 0; i < IDENTITIES; i++) await store!.consume([rule(i, algorithm)]);
      });
      expect(store.maxKeys).to.equal(1_000_000);
      expect(store.size).to.be.at.most(store.maxKeys).and.equal(IDENTITIES);
      const perKey = (delta.heap * MB) / IDENTITIES;
      console.log(`      ≈ ${perKey.toFixed(0)} bytes of heap per (identity, rule) with ${algorithm}`);
      // One request per identity: the key string, the Map slot and a small entry.
      expect(perKey).to.be.below(algorithm === 'gcra' ? 400 : 600);
      clock += 61_000;
      store.sweep();
      expect(store.size).to.equal(0);
      await store.close();
      store = undefined;
    });
  }

  it("keeps a busy identity's sliding log proportional to its live requests, not to its history", async function () {
    // 7.5 million decisions: ~11 s alone on an idle 2-core machine, but 94 s inside the full suite in a
    // clean CI run (why is not known; the heap other specs leave is the suspect). A guard against a hang.
    this.timeout(240_000);
    let store: MemoryStore | undefined = new MemoryStore({ now });
    const ids = 5000;
    const delta = await growth(`MemoryStore sliding-log, ${ids} identities × 1500 requests at 1/s (limit 100 per 60 s)`, async () => {
      for (let second = 0; second < 1500; second++) {
        clock += 1000;
        for (let i = 0; i < ids; i++) await store!.consume([rule(i)]);
      }
    });
    const perKey = (delta.heap * MB) / ids;
    console.log(`      ≈ ${perKey.toFixed(0)} bytes per busy key (60 live requests × 16 B ≈ 960 B)`);
    expect(store.size).to.equal(ids);
    expect(perKey).to.be.below(2048);
    await store.close();
    store = undefined;
  });

  it('MemoryStore with maxKeys 100,000 evicts the least recently written identity and stays at the cap', async () => {
    let store: MemoryStore | undefined = new MemoryStore({ now, maxKeys: 100_000 });
    const delta = await growth(`MemoryStore maxKeys 100000, ${IDENTITIES} identities`, async () => {
      for (let i = 0; i < IDENTITIES; i++) await store!.consume([rule(i)]);
    });
    expect(store.size).to.equal(100_000);
    expect(delta.heap).to.be.below(60);
    // An evicted identity starts over (documented trade-off of the cap); a kept one keeps its count.
    expect((await store.consume([rule(0)])).rules[0].remaining).to.equal(99);
    expect((await store.consume([rule(IDENTITIES - 1)])).rules[0].remaining).to.equal(98);
    await store.close();
    store = undefined;
  });
});
