/**
 * @module Attack r7: handles and timers do not grow with the request count (20,000 requests on a
 * healthy Redis, then a silent spell), and once the server, JWTService and cache are closed the
 * process exits at once (no timer keeps it alive), even after a silent Redis.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { inPool, keepAliveAgent, send, statusCounts } from '../support/http-load';
import { collectUnhandled } from '../support/unhandled';
import { startPrivateRedis, type PrivateRedis } from '../support/redis';
import { pause, sleep } from './attack-r7-helpers';

const unhandled: unknown[] = [];

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('attack r7: timers, handles and exit', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  collectUnhandled(unhandled);

  beforeEach(async () => {
    redis = await startPrivateRedis();
  });
  afterEach(async () => {
    await redis.stop();
    expect(unhandled).to.deep.equal([]);
  });

  it('20,000 requests (JWT + limiter on Redis), then 200 during a silent spell: active timers and handles do not grow', async () => {
    const cache = new RedisCache(redis.url, { keyPrefix: 'r7-leak:', logger: quietLogger });
    await cache.ready();
    const jwt = new JWTService(cache, { secretKey: makeEdKey() });
    const [token] = await jwt.createToken({ sub: 'leak-user' });
    const app = express();
    app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger, storeTimeoutMs: 200 }));
    app.get('/r', limiter(1_000_000, 60, undefined, { algorithm: 'gcra' }), (req, res) => res.json({ ok: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const agent = keepAliveAgent(20);
    const headers = { authorization: `Bearer ${token}` };
    const run = async (n: number) => statusCounts(await inPool(Array.from({ length: n }), 20, () => send({ port, path: '/r', agent, headers })));
    try {
      await run(500);
      await sleep(300);
      const before = resources();
      const handlesBefore = (process as any)._getActiveHandles().length;
      const counts = await run(20_000);
      await sleep(300);
      const after = resources();
      const handlesAfter = (process as any)._getActiveHandles().length;
      await pause(redis.url, 1000);
      const silent = await run(200);
      await sleep(1500);
      const afterSilent = resources();
      const handlesAfterSilent = (process as any)._getActiveHandles().length;
      console.log('      20k:', JSON.stringify(counts), 'silent:', JSON.stringify(silent));
      console.log('      resources before', JSON.stringify(before), 'after', JSON.stringify(after), 'after silent', JSON.stringify(afterSilent));
      console.log('      handles', handlesBefore, handlesAfter, handlesAfterSilent);
      expect(counts[200]).to.equal(20_000);
      expect(after.Timeout ?? 0).to.be.at.most((before.Timeout ?? 0) + 2);
      expect(afterSilent.Timeout ?? 0).to.be.at.most((before.Timeout ?? 0) + 2);
      expect(handlesAfter).to.be.at.most(handlesBefore + 2);
      expect(handlesAfterSilent).to.be.at.most(handlesBefore + 2);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await jwt.close();
      await cache.close();
    }
  });

  for (const silent of [false, true]) {
    it(`after 2,000 requests${silent ? ' and 50 more on a silent Redis' : ''}, closing server, JWTService and cache lets the process exit within 1 s`, async () => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'attack-r7-exit-child.ts'), redis.url, '2000', silent ? 'silent' : ''], {
        cwd: path.join(__dirname, '..', '..'),
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let out = '';
      let closedAt = 0;
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('pause-now') && !out.includes('paused')) {
          out += 'paused';
          void pause(redis.url, 3000).then(() => child.stdin.write('go\n'));
        }
        if (!closedAt && out.includes('closed')) closedAt = Date.now();
      });
      const code = await new Promise<number | null>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 25_000);
        child.on('exit', (c) => (clearTimeout(kill), resolve(c)));
      });
      const lingered = closedAt ? Date.now() - closedAt : -1;
      console.log('      child output:', JSON.stringify(out.replace(/\n/g, ' ')), 'exit', code, 'lingered', lingered, 'ms after closing');
      expect(out).to.include('closed');
      expect(code).to.equal(0);
      expect(lingered).to.be.below(1000);
    });
  }

  // Each limitMiddleware builds a RedisStore that adds 'ready' and 'close' listeners to the shared client
  // (and a fallback MemoryStore with its own sweep timer), never removed.
  it('12 limitMiddleware instances on one RedisCache (one per router): no MaxListenersExceededWarning, listeners do not grow per instance', async () => {
    const cache = new RedisCache(redis.url, { keyPrefix: 'r7-listeners:', logger: quietLogger });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await cache.ready();
      const before = cache.client.listenerCount('close');
      for (let i = 0; i < 12; i++) limitMiddleware({ cache, annoBackend: false, logger: quietLogger, keyPrefix: `r${i}:` });
      await sleep(50);
      const after = cache.client.listenerCount('close');
      console.log('      close listeners:', before, '->', after, 'warnings:', warnings.map((w) => w.name));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
      await cache.close();
    }
  });
});
