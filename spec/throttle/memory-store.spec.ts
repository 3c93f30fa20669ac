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
});
