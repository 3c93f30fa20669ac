/** @module The behaviour every RateLimitStore shares, for both algorithms. */
import { expect } from 'chai';
import { InvalidOptionError } from '../../src/errors';
import { MAX_SLIDING_LOG_LIMIT, type Algorithm, type ConsumeRule, type RateLimitStore } from '../../src/throttle/store';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `factory` gives a fresh store and a unique key prefix. */
export function storeContract(name: string, factory: () => Promise<{ store: RateLimitStore; prefix: string; close: () => Promise<void> }>): void {
  for (const algorithm of ['sliding-log', 'gcra'] as Algorithm[]) {
    describe(`${name} with ${algorithm} (RateLimitStore contract)`, () => {
      let store: RateLimitStore;
      let prefix: string;
      let close: () => Promise<void>;
      const rule = (key: string, limit: number, windowMs: number, cost = 1): ConsumeRule => ({ key: `${prefix}{id}:${key}`, limit, windowMs, cost, algorithm });
      beforeEach(async () => {
        ({ store, prefix, close } = await factory());
      });
      afterEach(async () => close());

      it('admits `limit` requests, then denies with a retry time', async () => {
        const r = rule('a', 3, 10_000);
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push(await store.consume([r]));
        expect(statuses.map((d) => d.status)).to.deep.equal(['allowed', 'allowed', 'allowed', 'limited']);
        expect(statuses.map((d) => d.rules[0].remaining)).to.deep.equal([2, 1, 0, 0]);
        const denied = statuses[3].rules[0];
        expect(denied.allowed).to.equal(false);
        expect(denied.retryAfterMs).to.be.greaterThan(0).and.at.most(10_000);
        expect(denied.resetMs).to.be.greaterThan(0).and.at.most(10_000);
        expect(statuses[0].rules[0].retryAfterMs).to.equal(0);
        expect(statuses[0].rules[0]).to.include({ key: r.key, limit: 3, windowMs: 10_000 });
      });

      it('counts nothing when any rule denies (all-or-nothing across rules)', async () => {
        const tight = rule('tight', 1, 10_000);
        const loose = rule('loose', 5, 10_000);
        expect((await store.consume([tight, loose])).status).to.equal('allowed');
        for (let i = 0; i < 3; i++) {
          const d = await store.consume([tight, loose]);
          expect(d.status).to.equal('limited');
          expect(d.rules.map((o) => o.allowed)).to.deep.equal([false, true]);
        }
        // the denied requests did not spend the loose rule's budget
        const alone = await store.consume([loose]);
        expect(alone.rules[0].remaining).to.equal(3);
      });

      it('an optional rule never denies the request: it counts where it admits, and only then (one call either way)', async () => {
        const route = rule('route', 5, 10_000);
        const mint = { ...rule('mint', 2, 10_000), optional: true };
        const decisions = [];
        for (let i = 0; i < 4; i++) decisions.push(await store.consume([route, mint]));
        expect(decisions.map((d) => d.status)).to.deep.equal(['allowed', 'allowed', 'allowed', 'allowed']);
        expect(decisions.map((d) => d.rules[1].allowed)).to.deep.equal([true, true, false, false]);
        // The route counted all four; the optional rule only the two it admitted.
        expect(decisions.map((d) => d.rules[0].remaining)).to.deep.equal([4, 3, 2, 1]);
        expect((await store.consume([mint])).rules[0].allowed).to.equal(false);
        // Denied by a required rule: nothing counts, the optional rule included.
        const full = { ...rule('full', 1, 10_000) };
        const fresh = { ...rule('fresh', 3, 10_000), optional: true };
        await store.consume([full]);
        expect((await store.consume([full, fresh])).status).to.equal('limited');
        expect((await store.consume([fresh])).rules[0].remaining).to.equal(2);
      });

      it('spends `cost` units per request', async () => {
        const r = rule('cost', 10, 10_000, 4);
        expect((await store.consume([r])).rules[0].remaining).to.equal(6);
        expect((await store.consume([r])).rules[0].remaining).to.equal(2);
        expect((await store.consume([r])).status).to.equal('limited');
        expect((await store.consume([{ ...r, cost: 2 }])).status).to.equal('allowed');
      });

      it('frees the budget once the window has passed', async () => {
        const r = rule('window', 2, 300);
        await store.consume([r]);
        await store.consume([r]);
        expect((await store.consume([r])).status).to.equal('limited');
        await sleep(350);
        expect((await store.consume([r])).status).to.equal('allowed');
      });

      it('admits exactly `limit` of 50 concurrent requests', async () => {
        const r = rule('burst', 10, 60_000);
        const decisions = await Promise.all(Array.from({ length: 50 }, () => store.consume([r])));
        expect(decisions.filter((d) => d.status === 'allowed')).to.have.length(10);
      });

      it('keeps identities and rules apart', async () => {
        await store.consume([rule('x', 1, 10_000)]);
        expect((await store.consume([rule('x', 1, 10_000)])).status).to.equal('limited');
        expect((await store.consume([rule('y', 1, 10_000)])).status).to.equal('allowed');
      });

      it('admits a cost-0 request, even at the limit, and counts nothing (issue 8 item 9)', async () => {
        const r = rule('free', 2, 10_000);
        const free = await store.consume([{ ...r, cost: 0 }]);
        expect(free.status).to.equal('allowed');
        expect(free.rules[0]).to.include({ allowed: true, remaining: 2, retryAfterMs: 0 });
        await store.consume([r]);
        await store.consume([r]);
        for (let i = 0; i < 3; i++) {
          const d = await store.consume([{ ...r, cost: 0 }]);
          expect(d.status).to.equal('allowed');
          expect(d.rules[0].remaining).to.equal(0);
        }
        // A free request beside a paid one spends nothing of its own rule.
        const other = rule('other', 5, 10_000);
        expect((await store.consume([other, { ...r, cost: 0 }])).status).to.equal('allowed');
        expect((await store.consume([r])).status).to.equal('limited');
      });

      // Sliding-log semantics (GCRA refills continuously: its exact values are in the store specs).
      if (algorithm === 'sliding-log') {
        it('decides a weighted request as one entry: cost 4,000 at limit 10,000 (issue 13 item 3)', async () => {
          const r = rule('weighted', 10_000, 60_000, 4000);
          const started = Date.now();
          expect((await store.consume([r])).rules[0].remaining).to.equal(6000);
          expect((await store.consume([r])).rules[0].remaining).to.equal(2000);
          const denied = await store.consume([r]);
          expect(denied.status).to.equal('limited');
          expect(denied.rules[0].retryAfterMs).to.be.greaterThan(59_000).and.at.most(60_000);
          expect((await store.consume([{ ...r, cost: 2000 }])).rules[0].remaining).to.equal(0);
          expect(Date.now() - started).to.be.below(1000);
        });

        it('waits for the oldest requests whose expiry frees enough units (weighted retry)', async () => {
          const r = rule('retry', 10, 2000, 3);
          const t0 = Date.now();
          await store.consume([r]); // 3 units at t0
          await sleep(200);
          await store.consume([r]); // 3 units at t0 + 200
          await store.consume([{ ...r, cost: 4 }]); // 4 units at t0 + 200+: 10 used
          const elapsed = Date.now() - t0;
          // cost 2 needs 2 units back: the first request (t0) frees 3 → retry ≈ 2000 - elapsed
          const first = (await store.consume([{ ...r, cost: 2 }])).rules[0].retryAfterMs;
          expect(first).to.be.within(2000 - elapsed - 60, 2000 - elapsed + 60);
          // cost 5 needs 5 back: the second request (t0 + 200) is also needed → ≈ 200 more
          const second = (await store.consume([{ ...r, cost: 5 }])).rules[0].retryAfterMs;
          expect(second - first).to.be.within(150, 260);
        });
      }

      it(`refuses a sliding-log rule above MAX_SLIDING_LOG_LIMIT (${MAX_SLIDING_LOG_LIMIT}) with a typed error; gcra takes any limit`, async () => {
        const big = rule('big', MAX_SLIDING_LOG_LIMIT + 1, 60_000);
        const outcome = await store.consume([big]).then(() => null, (e: unknown) => e);
        if (algorithm === 'sliding-log') {
          expect(outcome).to.be.instanceOf(InvalidOptionError);
          expect(outcome).to.include({ code: 'ERR_WT_INVALID_OPTION', option: 'limit' });
          expect((outcome as Error).message).to.match(/gcra/);
          expect((await store.consume([rule('big', MAX_SLIDING_LOG_LIMIT, 60_000)])).status).to.equal('allowed');
        } else {
          expect(outcome).to.equal(null);
          expect((await store.consume([rule('huge', 1e9, 60_000, 5e6)])).rules[0].remaining).to.equal(1e9 - 5e6);
        }
      });

      it('allows an empty rule list without counting anything', async () => {
        expect(await store.consume([])).to.deep.include({ status: 'allowed', rules: [] });
      });
    });
  }
}
