import { expect } from 'chai';
import Redis, { Cluster } from 'ioredis';
import { RedisCache } from '../../src/cache/redis-cache';
import { StoreUnavailableError } from '../../src/errors';
import { RedisStore } from '../../src/throttle/redis-store';
import { MAX_SLIDING_LOG_LIMIT } from '../../src/throttle/store';
import { createRule, ruleKey } from '../../src/throttle/rule';
import { redisUrl, startPrivateRedis, uniquePrefix, deletePrefix } from '../support/redis';
import { clusterSlot } from '../../src/utils/cluster-slot';
import { startPrivateCluster, type PrivateCluster } from '../support/redis-cluster';
import { storeContract } from './store.contract';

storeContract('RedisStore', async () => {
  const client = new Redis(await redisUrl());
  const prefix = uniquePrefix('store');
  return {
    store: new RedisStore(client),
    prefix,
    close: async () => {
      await deletePrefix(client, prefix);
      await client.quit();
    },
  };
});

describe('RedisStore', () => {
  it('sends exactly one Redis command per decision, whatever the number of rules', async function () {
    this.timeout(15_000);
    const server = await startPrivateRedis();
    const client = new Redis(server.url);
    try {
      const store = new RedisStore(client);
      const rules = [1, 2, 3].map((n) => ({ key: `{id}:r${n}`, limit: 100, windowMs: 60_000, cost: 1, algorithm: n === 2 ? ('gcra' as const) : ('sliding-log' as const) }));
      await store.consume(rules); // loads the script (EVALSHA → NOSCRIPT → EVAL)
      await client.config('RESETSTAT');
      for (let i = 0; i < 20; i++) await store.consume(rules);
      const stats = await client.info('commandstats');
      const calls = [...stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].filter(([, cmd]) => !['config', 'info'].includes(cmd));
      const total = calls.reduce((n, [, , c]) => n + Number(c), 0);
      // every command counted is either EVALSHA itself or a command run inside the script
      const evalsha = Number(calls.find(([, cmd]) => cmd === 'evalsha')?.[2] ?? 0);
      expect(evalsha).to.equal(20);
      expect(total - evalsha).to.be.greaterThan(0); // the script's own calls, not round trips
    } finally {
      await client.quit();
      await server.stop();
    }
  });

  it('keeps a GCRA counter within 140 bytes of Redis memory per identity and rule', async () => {
    const client = new Redis(await redisUrl());
    const prefix = uniquePrefix('mem');
    const rule = createRule(1000, 60, [], { algorithm: 'gcra' });
    const key = ruleKey(`${prefix}`, 'u:user-12345', 'ApiController.resource3', rule);
    await new RedisStore(client).consume([{ key, limit: 1000, windowMs: 60_000, cost: 1, algorithm: 'gcra' }]);
    const bytes = Number(await client.call('MEMORY', 'USAGE', key));
    console.log(`      (gcra key ${key.length} chars: ${bytes} bytes)`);
    expect(bytes).to.be.greaterThan(0).and.at.most(140);
    await deletePrefix(client, prefix);
    await client.quit();
  });

  it('fails at once with StoreUnavailableError while Redis is down, and answers again after', async function () {
    this.timeout(15_000);
    const server = await startPrivateRedis();
    const cache = new RedisCache(server.url, { logger: { warn: () => {} } });
    const store = new RedisStore(cache, { timeoutMs: 100 });
    const rule = { key: '{a}:x', limit: 5, windowMs: 10_000, cost: 1, algorithm: 'sliding-log' as const };
    try {
      expect((await store.consume([rule])).status).to.equal('allowed');
      await server.kill();
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const err = await store.consume([rule]).then(() => null, (e: unknown) => e);
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).code).to.equal('ERR_WT_STORE_UNAVAILABLE');
        expect(Date.now() - started).to.be.lessThan(500);
      }
      await server.start();
      const deadline = Date.now() + 5000;
      let status = 'down';
      while (status !== 'allowed' && Date.now() < deadline) {
        status = await store.consume([rule]).then((d) => d.status, () => 'down');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).to.equal('allowed');
    } finally {
      await cache.close();
      await server.stop();
    }
  });

  describe('on the shared Redis', () => {
    let client: Redis;
    let prefix: string;
    before(async () => {
      client = new Redis(await redisUrl());
      prefix = uniquePrefix('rs');
    });
    after(async () => {
      await deletePrefix(client, prefix);
      await client.quit();
    });

    it('gcra: retryAfterMs and resetMs on denial are exact up to the server time elapsed', async () => {
      const store = new RedisStore(client);
      const rule = { key: `${prefix}{g}:r`, limit: 3, windowMs: 3000, cost: 1, algorithm: 'gcra' as const };
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) await store.consume([rule]);
      const denied = (await store.consume([rule])).rules[0];
      const two = (await store.consume([{ ...rule, cost: 2 }])).rules[0];
      const elapsed = Date.now() - t0 + 2; // server time passed since the first request, at most
      expect(denied.allowed).to.equal(false);
      expect(denied.retryAfterMs).to.be.within(1000 - elapsed, 1000);
      expect(denied.resetMs).to.be.within(3000 - elapsed, 3000);
      expect(two.retryAfterMs).to.be.within(2000 - elapsed, 2000);
      expect(two.resetMs).to.be.within(3000 - elapsed, 3000);
    });

    it('keeps a weighted sliding log at one member per request: 2 requests of cost 4,000 in under 200 bytes', async () => {
      const store = new RedisStore(client);
      const key = `${prefix}{w}:r`;
      const rule = { key, limit: 10_000, windowMs: 60_000, cost: 4000, algorithm: 'sliding-log' as const };
      expect((await store.consume([rule])).status).to.equal('allowed');
      expect((await store.consume([rule])).status).to.equal('allowed');
      expect(await client.zcard(key)).to.equal(3); // two requests and the running total
      const bytes = Number(await client.call('MEMORY', 'USAGE', key));
      console.log(`      (weighted sliding-log key after 2 × cost 4000: ${bytes} bytes)`);
      expect(bytes).to.be.below(200);
    });

    it('keeps a full sliding log of MAX_SLIDING_LOG_LIMIT requests within the README bound', async function () {
      this.timeout(30_000);
      const store = new RedisStore(client);
      const key = `${prefix}{full}:r`;
      const rule = { key, limit: MAX_SLIDING_LOG_LIMIT, windowMs: 60_000, cost: 1, algorithm: 'sliding-log' as const };
      for (let i = 0; i < MAX_SLIDING_LOG_LIMIT; i += 500) await Promise.all(Array.from({ length: 500 }, () => store.consume([rule])));
      expect((await store.consume([rule])).status).to.equal('limited');
      const bytes = Number(await client.call('MEMORY', 'USAGE', key));
      console.log(`      (sliding-log key with ${MAX_SLIDING_LOG_LIMIT} requests: ${(bytes / 1024).toFixed(0)} KB, ${(bytes / MAX_SLIDING_LOG_LIMIT).toFixed(0)} B per request)`);
      expect(bytes / MAX_SLIDING_LOG_LIMIT).to.be.below(120);
    });

    it('takes a reply delayed past timeoutMs by event-loop lag as a reply, not a failure (issue 8 item 5)', async () => {
      const store = new RedisStore(client, { timeoutMs: 50 });
      const rule = { key: `${prefix}{lag}:r`, limit: 5, windowMs: 60_000, cost: 1, algorithm: 'sliding-log' as const };
      await store.consume([rule]); // script loaded
      for (let i = 0; i < 3; i++) {
        const pending = store.consume([rule]);
        const until = Date.now() + 200;
        while (Date.now() < until); // the event loop is busy: the reply waits in the socket
        expect((await pending).status).to.equal('allowed');
      }
    });
  });

  describe('on a Redis Cluster with one master down (issue 13 item 12)', () => {
    let cluster: PrivateCluster;
    let client: Cluster;
    before(async function () {
      this.timeout(60_000);
      cluster = await startPrivateCluster();
      client = new Cluster(cluster.nodes, { clusterRetryStrategy: () => 100 });
      client.on('error', () => {});
      await client.cluster('INFO');
    });
    after(async function () {
      this.timeout(20_000);
      client?.disconnect();
      await cluster?.stop();
    });

    it('fails at once for keys on the dead master and keeps answering for the others', async function () {
      this.timeout(30_000);
      const store = new RedisStore(client);
      const rule = (tag: string) => ({ key: `{${tag}}:r`, limit: 5, windowMs: 60_000, cost: 1, algorithm: 'sliding-log' as const });
      // One identity per master.
      const owners = new Map<string, string>();
      for (let i = 0; owners.size < 3; i++) owners.set(client.slots[clusterSlot(`id${i}`)][0], `id${i}`);
      for (const tag of owners.values()) expect((await store.consume([rule(tag)])).status).to.equal('allowed');
      const [deadNode, deadTag] = [...owners][0];
      const port = Number(deadNode.split(':')[1]);
      const killer = new Redis(port, { lazyConnect: true, retryStrategy: () => null });
      await killer.connect();
      await killer.call('SHUTDOWN', 'NOSAVE').catch(() => {});
      killer.disconnect();
      await new Promise((r) => setTimeout(r, 300)); // the pool sees the socket close
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const err = await store.consume([rule(deadTag)]).then(() => null, (e: unknown) => e);
        expect(err).to.be.instanceOf(StoreUnavailableError).with.property('disconnected', true);
        expect(Date.now() - started).to.be.below(100);
      }
      for (const [node, tag] of owners) if (node !== deadNode) expect((await store.consume([rule(tag)])).status).to.equal('allowed');
    });
  });
});
