/**
 * @module Attack r7: handles and timers do not grow with the request count (20,000 requests on a
 * healthy Redis, then a silent spell), and once the server, JWTService and cache are closed the
 * process exits at once (no timer keeps it alive), even after a silent Redis.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { quietLogger } from '../support/app-factory';
import { inPool, statusCounts } from '../support/http-load';
import { collectUnhandled } from '../support/unhandled';
import { startPrivateRedis, type PrivateRedis } from '../support/redis';
import { jwtLimitedServer, pause, sleep } from './attack-r7-helpers';

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
    const app = await jwtLimitedServer(redis.url, 'r7-leak:', quietLogger);
    const run = async (n: number) => statusCounts(await inPool(Array.from({ length: n }), 20, app.get));
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
      await app.close();
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

  // Found by attack r7: each limitMiddleware built its own RedisStore, adding 'ready' and 'close'
  // listeners to the shared client (and a fallback MemoryStore with its own sweep timer), never removed.
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
