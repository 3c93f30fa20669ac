/** @module The behaviour every `Cache` shares, run against each implementation. */
import { expect } from 'chai';
import type { Cache } from '../../src/cache/cache';
import { withLock } from '../../src/cache/with-lock';
import { InvalidOptionError, LockLostError, LockTimeoutError } from '../../src/errors';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the shared suite; `factory` returns a fresh, empty cache. */
export function cacheContract(name: string, factory: () => Promise<Cache>): void {
  describe(`${name} (Cache contract)`, () => {
    let cache: Cache;
    beforeEach(async () => {
      cache = await factory();
    });
    afterEach(async () => {
      await cache.close();
    });

    it('is ready to serve once ready() resolves', async () => {
      await cache.ready?.({ timeoutMs: 5000 });
      expect(await cache.set('r', '1')).to.equal(true);
    });

    it('gets what was set and null for a missing key', async () => {
      expect(await cache.set('a', '1')).to.equal(true);
      expect(await cache.get('a')).to.equal('1');
      expect(await cache.get('missing')).to.equal(null);
    });

    it('deletes and reports whether a key was there', async () => {
      await cache.set('d', 'x');
      expect(await cache.delete('d')).to.equal(true);
      expect(await cache.delete('d')).to.equal(false);
      expect(await cache.get('d')).to.equal(null);
    });

    it('with nx writes only a missing key', async () => {
      expect(await cache.set('n', 'first', { nx: true })).to.equal(true);
      expect(await cache.set('n', 'second', { nx: true })).to.equal(false);
      expect(await cache.get('n')).to.equal('first');
    });

    it('expires keys set with px, ex and exat', async () => {
      await cache.set('px', 'v', { px: 60 });
      await cache.set('ex', 'v', { ex: 0.06 });
      await cache.set('exat', 'v', { exat: Date.now() / 1000 + 0.06 });
      await cache.set('keep', 'v', { px: 5000 });
      expect(await cache.get('px')).to.equal('v');
      await sleep(150);
      expect(await cache.get('px')).to.equal(null);
      expect(await cache.get('ex')).to.equal(null);
      expect(await cache.get('exat')).to.equal(null);
      expect(await cache.get('keep')).to.equal('v');
    });

    it('lets nx write again once the old value expired', async () => {
      await cache.set('e', 'old', { px: 40 });
      await sleep(100);
      expect(await cache.set('e', 'new', { nx: true })).to.equal(true);
      expect(await cache.get('e')).to.equal('new');
    });

    it('refuses two expiries at once and non-positive ones with InvalidOptionError', async () => {
      for (const options of [{ ex: 1, px: 1000 }, { px: 0 }, { ex: -1 }, { px: Number.NaN }]) {
        const err = await cache.set('bad', 'v', options).then(() => null, (e: unknown) => e);
        expect(err, JSON.stringify(options)).to.be.instanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).code).to.equal('ERR_WT_INVALID_OPTION');
      }
      expect(await cache.get('bad')).to.equal(null);
    });

    it('lets exactly one of 20 contenders hold a lock at a time (no lost update)', async () => {
      await cache.set('counter', '0');
      let holders = 0;
      let maxHolders = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const lock = await cache.lock('counter-lock', { ttlMs: 5000, timeoutMs: 10_000 });
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          const value = Number(await cache.get('counter'));
          await sleep(1);
          await cache.set('counter', String(value + 1));
          holders--;
          expect(await lock.release()).to.equal(true);
        }),
      );
      expect(maxHolders).to.equal(1);
      expect(await cache.get('counter')).to.equal('20');
    });

    it('does not let a non-owner release a lock', async () => {
      const first = await cache.lock('owned', { ttlMs: 50 });
      await sleep(100); // expired: another caller takes it
      const second = await cache.lock('owned', { ttlMs: 5000, timeoutMs: 0 });
      expect(await first.release()).to.equal(false);
      // the second holder still owns it: a third cannot take it
      const err = await cache.lock('owned', { timeoutMs: 30 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LockTimeoutError);
      expect((err as LockTimeoutError).code).to.equal('ERR_WT_LOCK_TIMEOUT');
      expect(await second.release()).to.equal(true);
      const third = await cache.lock('owned', { timeoutMs: 0 });
      expect(await third.release()).to.equal(true);
    });

    it('gives up waiting for a lock after timeoutMs', async () => {
      const held = await cache.lock('busy', { ttlMs: 5000 });
      const started = Date.now();
      const err = await cache.lock('busy', { timeoutMs: 80 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LockTimeoutError);
      expect(Date.now() - started).to.be.lessThan(2000);
      await held.release();
    });

    it('extends a held lock past its ttl, and says false once the lock passed on', async () => {
      const lock = await cache.lock('ext', { ttlMs: 80 });
      await sleep(50);
      expect(await lock.extend(300)).to.equal(true);
      await sleep(80); // past the first ttl: still held
      const err = await cache.lock('ext', { timeoutMs: 0 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LockTimeoutError);
      await sleep(300);
      const next = await cache.lock('ext', { ttlMs: 5000, timeoutMs: 0 });
      expect(await lock.extend(5000)).to.equal(false);
      expect(await lock.release()).to.equal(false);
      expect(await next.release()).to.equal(true);
      const bad = await next.extend(0).then(() => null, (e: unknown) => e);
      expect(bad).to.be.instanceOf(InvalidOptionError);
    });

    it('withLock keeps the lock while slow work runs past the ttl, then releases it', async () => {
      let contenderErr: unknown;
      const result = await withLock(
        cache,
        'slow',
        async (signal) => {
          await sleep(250); // five ttls
          contenderErr = await cache.lock('slow', { timeoutMs: 0 }).then(() => null, (e: unknown) => e);
          expect(signal.aborted).to.equal(false);
          return 'done';
        },
        { ttlMs: 50 },
      );
      expect(result).to.equal('done');
      expect(contenderErr).to.be.instanceOf(LockTimeoutError);
      const after = await cache.lock('slow', { timeoutMs: 0 });
      expect(await after.release()).to.equal(true);
    });

    it('withLock rejects with LockLostError and aborts the signal when the lock expired under stalled work', async () => {
      let signal: AbortSignal | undefined;
      const err = await withLock(
        cache,
        'stalled',
        async (s) => {
          signal = s;
          const until = Date.now() + 150; // the event loop stalls past the 50 ms ttl: no extension can run
          while (Date.now() < until);
          await sleep(60);
          return 'late';
        },
        { ttlMs: 50 },
      ).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LockLostError);
      expect((err as LockLostError).code).to.equal('ERR_WT_LOCK_LOST');
      expect(signal!.aborted).to.equal(true);
    });

    it('withLock passes on what the work throws, and releases the lock', async () => {
      const boom = new Error('boom');
      const err = await withLock(cache, 'throws', () => Promise.reject(boom)).then(() => null, (e: unknown) => e);
      expect(err).to.equal(boom);
      const lock = await cache.lock('throws', { timeoutMs: 0 });
      expect(await lock.release()).to.equal(true);
    });

    it('refuses bad lock options', async () => {
      const err = await cache.lock('x', { ttlMs: 0 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(InvalidOptionError);
      const every = await withLock(cache, 'x', () => 1, { ttlMs: 100, extendEveryMs: 100 }).then(() => null, (e: unknown) => e);
      expect(every).to.be.instanceOf(InvalidOptionError);
      expect((every as InvalidOptionError).option).to.equal('extendEveryMs');
    });
  });
}
