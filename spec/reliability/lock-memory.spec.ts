/**
 * @module In-memory locks do not grow the heap and take no entry slots: they live in their own
 * table, apart from the evicting entry map (issue 13 item 1 measured +20 MB per 500k lock/release
 * once eviction had started; issue 8 item 10: a write flood evicted a held lock).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import { InMemoryCache } from '../../src/cache/in-memory-cache';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MB = 1024 * 1024;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / MB;
}

describe('InMemoryCache locks under eviction', function () {
  this.timeout(60_000);

  it('keeps a flat heap over 300,000 lock/release cycles once eviction has started, locks taking no entry slot', async () => {
    const cache = new InMemoryCache({ maxEntries: 1000 });
    for (let i = 0; i < 2000; i++) await cache.set(`fill-${i}`, 'x'); // eviction has begun
    const readings: number[] = [];
    let n = 0;
    for (let step = 0; step < 3; step++) {
      for (let i = 0; i < 100_000; i++, n++) {
        const lock = await cache.lock(`job-${n}`, { timeoutMs: 0 });
        await cache.set(`w-${n}`, 'x'); // writes keep evicting meanwhile
        expect(await lock.release()).to.equal(true);
      }
      readings.push(heapMb());
    }
    console.log(`      heap after each 100k lock/release: ${readings.map((r) => r.toFixed(1)).join(' → ')} MB`);
    expect(readings[2] - readings[0]).to.be.lessThan(3);
    expect(cache.size).to.equal(1000); // every entry slot still holds a written value
    await cache.close();
  });
});
