import { expect } from 'chai';
import { StoreUnavailableError } from '../../src/errors';
import { ResilientStore } from '../../src/throttle/failure-policy';
import { MemoryStore } from '../../src/throttle/memory-store';
import type { ConsumeRule, Decision, RateLimitStore } from '../../src/throttle/store';

const rule: ConsumeRule = { key: '{a}:r', limit: 3, windowMs: 60_000, cost: 1, algorithm: 'sliding-log' };
const allowed: Decision = { status: 'allowed', rules: [] };

/** A primary that answers from a script of outcomes: 'ok', 'slow' (fails, connected) or 'lost' (disconnected). */
function scripted(outcomes: ('ok' | 'slow' | 'lost')[]): RateLimitStore & { calls: number } {
  const store = {
    calls: 0,
    async consume(): Promise<Decision> {
      const outcome = outcomes[store.calls++ % outcomes.length];
      if (outcome === 'ok') return allowed;
      throw new StoreUnavailableError(outcome, { disconnected: outcome === 'lost' });
    },
  };
  return store;
}

function recorder(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (m) => messages.push(m) };
}

describe('ResilientStore', () => {
  it("answers one failure of a connected store 'unavailable' under 'memory' — never a second, separate count", async () => {
    const fallback = new MemoryStore();
    const logger = recorder();
    const store = new ResilientStore(scripted(['slow', 'ok']), { fallback, logger });
    for (let i = 0; i < 10; i++) {
      const d = await store.consume([rule]);
      expect(d.status).to.equal(i % 2 === 0 ? 'unavailable' : 'allowed');
      expect(d.degraded).to.equal(undefined);
    }
    expect(fallback.size).to.equal(0);
    expect(logger.messages).to.deep.equal([]);
    await store.close();
  });

  it('opens the breaker after 3 consecutive failures and then limits in memory, warning once', async () => {
    const logger = recorder();
    const store = new ResilientStore(scripted(['slow']), { logger });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await store.consume([rule])).status);
    expect(statuses).to.deep.equal(['unavailable', 'unavailable', 'allowed', 'allowed', 'allowed', 'limited', 'limited', 'limited']);
    expect(store.degraded).to.equal(true);
    expect(logger.messages).to.have.length(1);
    expect(logger.messages[0]).to.match(/ERR_WT_STORE_UNAVAILABLE.*failing memory/);
    await store.close();
  });

  it('falls back at once when the store reports its connection lost', async () => {
    const store = new ResilientStore(scripted(['lost']), { logger: recorder() });
    const d = await store.consume([rule]);
    expect(d).to.include({ status: 'allowed', degraded: true });
    expect(d.rules[0].remaining).to.equal(2);
    await store.close();
  });

  it('lets one request at a time probe a primary behind an open breaker', async () => {
    let release!: () => void;
    let calls = 0;
    let mode: 'fail' | 'hang' | 'ok' = 'fail';
    const primary: RateLimitStore = {
      async consume() {
        calls++;
        if (mode === 'fail') throw new StoreUnavailableError('slow');
        if (mode === 'hang') await new Promise<void>((r) => (release = r));
        return allowed;
      },
    };
    const store = new ResilientStore(primary, { logger: recorder() });
    for (let i = 0; i < 3; i++) await store.consume([rule]);
    mode = 'hang';
    const probe = store.consume([rule]);
    const others = await Promise.all(Array.from({ length: 5 }, () => store.consume([{ ...rule, limit: 100 }])));
    expect(calls).to.equal(4);
    expect(others.every((d) => d.degraded === true)).to.equal(true);
    mode = 'ok';
    release();
    expect(await probe).to.equal(allowed);
    expect(await store.consume([rule])).to.equal(allowed); // the breaker closed: straight to the primary
    await store.close();
  });

  it('warns once per outage, not per flip, while successes and failures interleave (one Cluster master down)', async () => {
    const logger = recorder();
    const store = new ResilientStore(scripted(['ok', 'lost', 'ok', 'ok', 'lost']), { logger });
    for (let i = 0; i < 200; i++) await store.consume([{ ...rule, limit: 1000 }]);
    expect(logger.messages).to.have.length(1);
    await store.close();
  });

  it('refuses a breakerFailures that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => new ResilientStore(scripted(['ok']), { breakerFailures: bad })).to.throw(/breakerFailures/).with.property('code', 'ERR_WT_INVALID_OPTION');
    }
  });
});
