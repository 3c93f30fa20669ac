import { expect } from 'chai';
import { MemoryStore } from '../../src/throttle/memory-store';
import { storeContract } from './store.contract';

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, prefix: 'm:', close: () => store.close() };
});

describe('MemoryStore', () => {
  it('evicts the least recently written key beyond maxKeys', async () => {
    const store = new MemoryStore({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) await store.consume([{ key: `k${i}`, limit: 5, windowMs: 60_000, cost: 1, algorithm: 'gcra' }]);
    expect(store.size).to.equal(100);
    await store.close();
  });

  it('sweeps expired keys', async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ now: () => now });
    for (let i = 0; i < 50; i++) await store.consume([{ key: `k${i}`, limit: 5, windowMs: 1000, cost: 1, algorithm: 'sliding-log' }]);
    now += 1001;
    store.sweep();
    expect(store.size).to.equal(0);
    await store.close();
  });

  describe('exact values with a controlled clock', () => {
    let now: number;
    let store: MemoryStore;
    beforeEach(() => {
      now = 1_000_000;
      store = new MemoryStore({ now: () => now });
    });
    afterEach(() => store.close());
    const gcra = (cost = 1) => store.consume([{ key: '{g}:r', limit: 3, windowMs: 3000, cost, algorithm: 'gcra' }]);

    it('gcra: one unit per 1000 ms at 3 per 3 s; retryAfterMs and resetMs exact on admission and denial', async () => {
      const admitted = [await gcra(), await gcra(), await gcra()].map((d) => d.rules[0]);
      expect(admitted.map((o) => [o.remaining, o.resetMs, o.retryAfterMs])).to.deep.equal([[2, 1000, 0], [1, 2000, 0], [0, 3000, 0]]);
      // Full: the next unit frees in 1000 ms; the quota is whole again in 3000 ms.
      expect((await gcra()).rules[0]).to.include({ allowed: false, remaining: 0, retryAfterMs: 1000, resetMs: 3000 });
      now += 400;
      expect((await gcra()).rules[0]).to.include({ allowed: false, retryAfterMs: 600, resetMs: 2600 });
      // Two units need 1000 ms more than one.
      expect((await gcra(2)).rules[0]).to.include({ allowed: false, retryAfterMs: 1600, resetMs: 2600 });
      now += 600;
      expect((await gcra()).rules[0]).to.include({ allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 3000 });
      now += 3000;
      expect((await gcra(3)).rules[0]).to.include({ allowed: true, remaining: 0, resetMs: 3000 });
    });

    it('sliding-log: a weighted request frees its units when it leaves the window; retryAfterMs exact', async () => {
      const log = (cost: number) => store.consume([{ key: '{s}:r', limit: 10, windowMs: 1000, cost, algorithm: 'sliding-log' }]);
      await log(3); // t = 0
      now += 100;
      await log(3); // t = 100
      now += 100;
      expect((await log(4)).rules[0]).to.include({ remaining: 0, resetMs: 1000 }); // t = 200
      expect((await log(1)).rules[0]).to.include({ allowed: false, retryAfterMs: 800, resetMs: 1000 });
      expect((await log(4)).rules[0]).to.include({ allowed: false, retryAfterMs: 900 }); // needs the t = 100 request gone too
      expect((await log(7)).rules[0]).to.include({ allowed: false, retryAfterMs: 1000 });
      expect((await log(11)).rules[0]).to.include({ allowed: false, retryAfterMs: 1000 }); // above the limit: never
      now += 800;
      expect((await log(3)).rules[0]).to.include({ allowed: true, remaining: 0 });
      expect((await log(0)).rules[0]).to.include({ allowed: true, remaining: 0, retryAfterMs: 0 });
    });

    it('sliding-log: a key of 10,000 requests decides 10,000 weighted denials in O(log n) each (well under 2 s)', async () => {
      const r = { key: '{b}:r', limit: 10_000, windowMs: 60_000, cost: 1, algorithm: 'sliding-log' as const };
      for (let i = 0; i < 10_000; i++) await store.consume([r]);
      const started = process.hrtime.bigint();
      for (let i = 0; i < 10_000; i++) expect((await store.consume([{ ...r, cost: 1 + (i % 50) }])).status).to.equal('limited');
      expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(2000);
    });
  });
});
