/**
 * @module Everything that talks to Redis also works on a Redis Cluster: every script's keys share the
 * identity's {hash tag}, so no call is CROSSSLOT, and identities spread over the masters.
 */
import { expect } from 'chai';
import express from 'express';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { RedisCache } from '../../src/cache/redis-cache';
import { RedisJWTService } from '../../src/auth/redis-jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { startPrivateCluster, type PrivateCluster } from '../support/redis-cluster';

describe('Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: PrivateCluster;
  let client: Cluster;
  let cache: RedisCache;
  let jwt: RedisJWTService;
  const secretKey = makeEdKey();

  before(async () => {
    cluster = await startPrivateCluster();
    client = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
    });
    cache = new RedisCache(client, { logger: quietLogger });
    jwt = new RedisJWTService(cache, { secretKey });
    await jwt.ready;
  });

  after(async () => {
    await jwt?.close();
    await cache?.close();
    client?.disconnect();
    await cluster?.stop();
  });

  it('caches, locks and expires on a cluster', async () => {
    expect(await cache.set('a', '1', { px: 5000 })).to.equal(true);
    expect(await cache.get('a')).to.equal('1');
    const lock = await cache.lock('job');
    expect(await lock.release()).to.equal(true);
  });

  it('issues, rotates, detects reuse and revokes on a cluster', async () => {
    const subjects = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    for (const sub of subjects) {
      const [access, refresh] = await jwt.createToken({ sub });
      const [newAccess, newRefresh] = (await jwt.updateToken({ sub }, refresh))!;
      expect(await jwt.validateAccessToken(access)).to.equal(null);
      expect(await jwt.validateAccessToken(newAccess)).to.include({ sub });
      expect(await jwt.searchToken(newRefresh)).to.have.length(1);
      expect(await jwt.updateToken({ sub }, refresh)).to.equal(null); // reuse
      expect(await jwt.validateAccessToken(newAccess)).to.equal(null);
    }
    const [, r] = await jwt.createToken({ sub: 'everywhere' });
    await jwt.createToken({ sub: 'everywhere' });
    expect(await jwt.revokeAll('everywhere')).to.equal(2);
    expect(await jwt.validateRefreshToken(r)).to.equal(null);
    // the subjects' keys really are spread over several masters
    const masters = client.nodes('master');
    const counts = await Promise.all(masters.map((m) => m.dbsize()));
    expect(counts.filter((n) => n > 0).length).to.be.greaterThan(1);
  });

  it('a fresh process refuses every revoked token: the reload reads every master (issue 13 item 9)', async () => {
    const keyPrefix = 'reload9:';
    const revoker = new RedisJWTService(cache, { secretKey, keyPrefix });
    const accesses = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const [access] = await revoker.createToken({ sub: `revoked-${i}` });
        expect(await revoker.revokeAll(`revoked-${i}`)).to.equal(1);
        return access;
      }),
    );
    await revoker.close();
    const freshClient = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    const freshCache = new RedisCache(freshClient, { logger: quietLogger });
    const fresh = new RedisJWTService(freshCache, { secretKey, keyPrefix });
    try {
      await fresh.ready;
      const accepted = (await Promise.all(accesses.map((a) => fresh.validateAccessToken(a)))).filter((p) => p !== null);
      expect(accepted, 'revoked tokens a fresh process accepted').to.have.length(0);
      // and the subjects really live on several masters
      const masters = freshClient.nodes('master');
      const holding = await Promise.all(masters.map(async (m) => (await m.scan('0', 'MATCH', `${keyPrefix}rv:*`, 'COUNT', 10_000))[1].length));
      expect(holding.filter((n) => n > 0).length).to.equal(masters.length);
    } finally {
      await fresh.close();
      await freshCache.close();
      freshClient.disconnect();
    }
  });

  it('decides stacked limits in one script per request on a cluster', async () => {
    const app = express();
    app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new IPBackend(), logger: quietLogger }));
    app.get('/x', limiter.all(limiter(3, 10), limiter(2, 10, ['user'], { algorithm: 'gcra' })), (req, res) => res.json({ ok: true }));
    const [access] = await jwt.createToken({ sub: 'limited' });
    const auth = { Authorization: `Bearer ${access}` };
    await request(app).get('/x').set(auth).expect(200);
    await request(app).get('/x').set(auth).expect(200);
    const denied = await request(app).get('/x').set(auth).expect(429);
    expect(denied.body['violated-policies']).to.deep.equal(['2-in-10s-user']);
    for (let i = 0; i < 3; i++) await request(app).get('/x').expect(200);
    await request(app).get('/x').expect(429);
  });
});
