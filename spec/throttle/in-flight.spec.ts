import { expect } from 'chai';
import { InFlightCalls } from '../../src/throttle/in-flight';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('InFlightCalls (one timer for every store call in flight)', () => {
  const timedOut = () => new Error('timed out');

  it('fails a call that waited timeoutMs, once, and drops its late answer', async () => {
    const calls = new InFlightCalls(40, timedOut);
    const failures: string[] = [];
    const call = calls.add((err) => failures.push(err.message));
    await sleep(90);
    expect(failures).to.deep.equal(['timed out']);
    expect(calls.settle(call), 'a late answer').to.equal(false);
    expect(failures).to.have.length(1);
  });

  it('fails each call at its own deadline while others start and finish around it', async () => {
    const calls = new InFlightCalls(60, timedOut);
    const failedAt: Record<string, number> = {};
    const start = Date.now();
    const silentA = calls.add(() => (failedAt.a = Date.now() - start));
    await sleep(30);
    // Answered before their deadline: never failed.
    for (let i = 0; i < 100; i++) expect(calls.settle(calls.add(() => (failedAt[`answered${i}`] = 1)))).to.equal(true);
    const silentB = calls.add(() => (failedAt.b = Date.now() - start));
    await sleep(150);
    expect(Object.keys(failedAt).sort()).to.deep.equal(['a', 'b']);
    expect(failedAt.a).to.be.within(55, 120);
    // B started 30 ms after A: it is not failed with A's deadline.
    expect(failedAt.b).to.be.within(85, 150);
    expect(calls.settle(silentA) || calls.settle(silentB)).to.equal(false);
  });

  it('an answer that arrives in the same turn as the late timer still wins', async () => {
    const calls = new InFlightCalls(30, timedOut);
    let failed = 0;
    let answered = false;
    const call = calls.add(() => failed++);
    // Due 1 ms after the deadline: on a loop busy past both, the expiry runs first, then this answer.
    setTimeout(() => (answered = calls.settle(call)), 31);
    const t = Date.now();
    while (Date.now() - t < 60);
    await sleep(40);
    expect(answered).to.equal(true);
    expect(failed).to.equal(0);
  });

  it('failAll fails every waiting call once; later answers and the timer do nothing', async () => {
    const calls = new InFlightCalls(40, timedOut);
    const seen: string[] = [];
    const started = Array.from({ length: 5 }, (_, i) => calls.add((err) => seen.push(`${i}:${err.message}`)));
    calls.settle(started[2]);
    calls.failAll(new Error('closed'));
    expect(seen).to.deep.equal(['0:closed', '1:closed', '3:closed', '4:closed']);
    expect(started.map((c) => calls.settle(c))).to.deep.equal([false, false, false, false, false]);
    await sleep(80);
    expect(seen).to.have.length(4);
  });

  it('holds nothing once every call is answered (100,000 calls through one list)', () => {
    const calls = new InFlightCalls(5000, timedOut);
    for (let i = 0; i < 100_000; i++) {
      const a = calls.add(() => {});
      const b = calls.add(() => {});
      calls.settle(i % 2 ? a : b);
      calls.settle(i % 2 ? b : a);
    }
    const list = calls as unknown as { head?: unknown; tail?: unknown };
    expect(list.head).to.equal(undefined);
    expect(list.tail).to.equal(undefined);
  });
});
