/**
 * @module A Redis Cluster failover neither forgets nor invents a revocation (issue 13 items 9, 10):
 * the master holding a process's revocation subscription is killed by PID, tokens are revoked
 * while its replica is promoted, and afterwards both that process and a fresh one refuse them all.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { RedisCache } from '../../src/cache/redis-cache';
import { RedisJWTService } from '../../src/auth/redis-jwt-service';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { startPrivateCluster, type PrivateCluster } from '../support/redis-cluster';
import { sleep, until } from '../support/until';

const run = promisify(execFile);

interface Proc {
  client: Cluster;
  cache: RedisCache;
  jwt: RedisJWTService;
  close(): Promise<void>;
}

describe('RedisJWTService on a Redis Cluster failover', function () {
  this.timeout(60_000);
  const secretKey = makeEdKey();
  const keyPrefix = 'failover:';
  let cluster: PrivateCluster;
  const procs: Proc[] = [];

  async function startProcess(name: string): Promise<Proc> {
    const client = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1, connectionName: name } });
    client.on('error', () => {});
    const cache = new RedisCache(client, { logger: quietLogger });
    const jwt = new RedisJWTService(cache, { secretKey, keyPrefix });
    const proc = {
      client,
      cache,
      jwt,
      close: async () => {
        await jwt.close();
        await cache.close();
        client.disconnect();
      },
    };
    procs.push(proc);
    await jwt.ready;
    return proc;
  }

  /** The port of the master whose pub/sub connection belongs to `name`, if one does. */
  async function subscriberMaster(name: string): Promise<number | undefined> {
    for (const port of await cluster.masterPorts()) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'client', 'list', 'type', 'pubsub']);
      if (stdout.includes(name)) return port;
    }
    return undefined;
  }

  before(async () => {
    cluster = await startPrivateCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.close()));
    await cluster?.stop();
  });

  it('refuses tokens revoked while the subscribed master fails over, in the running process and a fresh one', async () => {
    const revoker = await startProcess('revoker');
    const observer = await startProcess('observer');
    const subjects = Array.from({ length: 60 }, (_, i) => `fo-${i}`);
    const accesses = await Promise.all(subjects.map(async (sub) => (await revoker.jwt.createToken({ sub }))[0]));
    for (const access of accesses) expect(await observer.jwt.validateAccessToken(access)).to.not.equal(null);

    const victim = (await subscriberMaster('observer')) ?? (await cluster.masterPorts())[0];
    await cluster.killNode(victim);
    // Revoke at once (during the failover), retrying what the dead master's slots refuse.
    const deadline = Date.now() + 30_000;
    await Promise.all(
      subjects.map(async (sub) => {
        for (;;) {
          try {
            return await revoker.jwt.revokeAll(sub);
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await sleep(100);
          }
        }
      }),
    );
    await cluster.waitHealthy(20_000);

    const accepted = async (jwt: RedisJWTService) => (await Promise.all(accesses.map((a) => jwt.validateAccessToken(a)))).filter((p) => p !== null).length;
    const tookMs = await until('the observer refuses every revoked token', async () => (await accepted(observer.jwt)) === 0, 15_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}: it still accepts ${await accepted(observer.jwt)} of ${accesses.length}`);
    });
    console.log(`      (after the failover the running process refused all ${accesses.length} within ${tookMs} ms)`);
    const fresh = await startProcess('fresh');
    expect(await accepted(fresh.jwt), 'revoked tokens a fresh process accepts').to.equal(0);
  });
});
