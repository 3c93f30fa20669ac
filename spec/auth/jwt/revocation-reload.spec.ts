import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisCache } from '../../../src/cache/redis-cache';
import { RevocationRegistry } from '../../../src/auth/jwt/revocation-registry';
import { RELOAD_PAGE, reloadRevocations } from '../../../src/auth/jwt/revocation-reload';
import { deletePrefix, redisUrl, uniquePrefix } from '../../support/redis';
import { CacheUnavailableError } from '../../../src/errors';

describe('reloadRevocations', () => {
  const prefix = uniquePrefix('reload-pages');
  let raw: Redis;
  let cache: RedisCache;
  let registry: RevocationRegistry;

  before(async () => {
    raw = new Redis(await redisUrl());
    const { hostname, port } = new URL(await redisUrl());
    // no auto-pipelining, so every pipeline counted below is one the reload built
    cache = new RedisCache({ host: hostname, port: Number(port), enableAutoPipelining: false }, { logger: { warn() {} } });
  });
  beforeEach(() => (registry = new RevocationRegistry()));
  afterEach(async () => {
    registry.close();
    await deletePrefix(raw, prefix);
  });
  after(async () => {
    await cache.close();
    raw.disconnect();
  });

  it('loads a subject holding more than one page, ties on a page boundary included, and skips expired entries', async () => {
    const until = Date.now() + 3_600_000;
    const total = RELOAD_PAGE.membersPerKey * 2 + 500;
    const pipeline = raw.pipeline();
    // 3 distinct scores only: pages must continue inside a run of equal scores
    for (let i = 0; i < total; i++) pipeline.zadd(`${prefix}rv:{big}`, until + (i % 3), `j:big-${i}`);
    pipeline.zadd(`${prefix}rv:{big}`, Date.now() - 1000, 'j:expired');
    for (let i = 0; i < 50; i++) pipeline.zadd(`${prefix}rv:{u${i}}`, until, `f:fam-${i}`);
    await pipeline.exec();
    expect(await reloadRevocations(cache, registry, prefix)).to.equal(total + 50);
    expect(registry.size).to.equal(total + 50);
    expect(registry.isRevoked(`big-${total - 1}`, 'none')).to.equal(true);
    expect(registry.isRevoked('expired', 'none')).to.equal(false);
    expect(registry.isRevoked('none', 'fam-49')).to.equal(true);
  });

  it('sends one pipelined round trip per SCAN page, not one per subject', async () => {
    const until = Date.now() + 3_600_000;
    const pipeline = raw.pipeline();
    for (let i = 0; i < 500; i++) pipeline.zadd(`${prefix}rv:{s${i}}`, until, `j:s-${i}`);
    await pipeline.exec();
    let commands = 0;
    let scans = 0;
    const count = (client: Redis) => {
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((command: { name: string }, stream?: unknown) => {
        if (command.name === 'zrangebyscore') commands++;
        if (command.name === 'scan') scans++;
        return send(command as never, stream as never);
      }) as typeof client.sendCommand;
    };
    count(cache.client as Redis);
    let pipelines = 0;
    const make = (cache.client as Redis).pipeline.bind(cache.client);
    (cache.client as Redis).pipeline = ((...a: never[]) => (pipelines++, make(...a))) as never;
    await reloadRevocations(cache, registry, prefix);
    expect(registry.size).to.equal(500);
    expect(commands).to.equal(500);
    // SCAN COUNT 1000 walks the key space in pages; each page's reads go in one pipeline
    expect(pipelines).to.be.at.most(scans);
    expect(pipelines).to.be.lessThan(50);
  });
});

describe('reloadRevocations on a Redis Cluster whose slot map lags a failover', () => {
  /** A Cluster client as ioredis shapes it: masters it is connected to, and the slot map (slot → [master key, …]). */
  function fakeCluster(slotMaster: string) {
    const scanned: string[] = [];
    let refreshes = 0;
    const master = { options: { host: '10.0.0.1', port: 7001 }, scan: async () => (scanned.push('7001'), ['0', []]) };
    const client = {
      isCluster: true,
      status: 'ready',
      slots: Array.from({ length: 16384 }, (_, slot) => [slot < 8192 ? '10.0.0.1:7001' : slotMaster]),
      nodes: () => [master],
      refreshSlotsCache: () => void refreshes++,
    };
    const cache = { client, run: <T>(f: () => Promise<T>) => f() } as unknown as RedisCache;
    return { cache, scanned, refreshes: () => refreshes };
  }

  it('refuses to count as complete while some slots name a master the client does not know (their keys would be skipped), and asks for the slot map again', async () => {
    // Half the slots still name the dead master; its promoted replica is not known yet.
    const { cache, scanned, refreshes } = fakeCluster('10.0.0.9:7009');
    const registry = new RevocationRegistry();
    try {
      const err = await reloadRevocations(cache, registry, 'p:').then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(CacheUnavailableError);
      expect((err as Error).message).to.match(/no known master/);
      expect(refreshes()).to.equal(1);
      expect(scanned).to.deep.equal([]);
    } finally {
      registry.close();
    }
  });

  it('reads every master once every slot has a known master', async () => {
    const { cache, scanned, refreshes } = fakeCluster('10.0.0.1:7001');
    const registry = new RevocationRegistry();
    try {
      expect(await reloadRevocations(cache, registry, 'p:')).to.equal(0);
      expect(scanned).to.deep.equal(['7001']);
      expect(refreshes()).to.equal(0);
    } finally {
      registry.close();
    }
  });
});
