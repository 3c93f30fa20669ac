import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisCache } from '../../../src/cache/redis-cache';
import { RevocationRegistry } from '../../../src/auth/jwt/revocation-registry';
import { RELOAD_PAGE, reloadRevocations } from '../../../src/auth/jwt/revocation-reload';
import { deletePrefix, redisUrl, uniquePrefix } from '../../support/redis';

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
