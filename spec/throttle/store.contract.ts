/** @module The behaviour every RateLimitStore shares, for both algorithms. */
import { expect } from 'chai';
import type { Algorithm, ConsumeRule, RateLimitStore } from '../../src/throttle/store';

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

      it('allows an empty rule list without counting anything', async () => {
        expect(await store.consume([])).to.deep.include({ status: 'allowed', rules: [] });
      });
    });
  }
}
