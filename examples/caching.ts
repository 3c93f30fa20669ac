/**
 * Caches: the embedded InMemoryCache, RedisCache when REDIS_URL is set, and an owner-token lock.
 *   npx ts-node --transpile-only examples/caching.ts
 */
import { InMemoryCache, RedisCache, withLock, type Cache } from '../src';

async function main(): Promise<void> {
  const cache: Cache = process.env.REDIS_URL ? new RedisCache(process.env.REDIS_URL) : new InMemoryCache();
  await cache.ready?.({ timeoutMs: 5_000 }); // a wrong URL fails here, naming host:port

  await cache.set('greeting', 'hello', { ex: 60 });
  console.log(await cache.get('greeting')); // 'hello'
  console.log(await cache.set('greeting', 'again', { nx: true })); // false: it exists

  const lock = await cache.lock('report', { ttlMs: 10_000, timeoutMs: 2_000 });
  try {
    // ... only one holder at a time does this
  } finally {
    await lock.release(); // only the holder's token can release it
  }

  // Work that may outlive the ttl: the lock is extended while it runs, released after.
  await withLock(cache, 'nightly-report', async (signal) => {
    // ... slow work
    if (signal.aborted) return; // the lock was lost: another holder may run; don't write
    await cache.set('report:done', '1', { ex: 60 });
  }, { ttlMs: 10_000 });
  await cache.delete('report:done');

  await cache.delete('greeting');
  await cache.close();
}

void main();
