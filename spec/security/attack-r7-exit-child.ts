/**
 * Child process of attack-r7-leaks.spec.ts: an app on the RedisCache at argv[2] serves N requests,
 * optionally waits while Redis is silent, closes everything and prints "closed"; the parent measures
 * how long the process then takes to exit.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { inPool, keepAliveAgent, send } from '../support/http-load';

const [url, nArg, silentArg] = process.argv.slice(2);
const quiet = { warn: () => {} };

async function main(): Promise<void> {
  const cache = new RedisCache(url, { keyPrefix: 'r7-exit:', logger: quiet });
  await cache.ready();
  const jwt = new JWTService(cache, { secretKey: makeEdKey() });
  const [token] = await jwt.createToken({ sub: 'exit-user' });
  const app = express();
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quiet, storeTimeoutMs: 200 }));
  app.get('/r', limiter(1_000_000, 60, undefined, { algorithm: 'gcra' }), (req, res) => res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const agent = keepAliveAgent(20);
  const headers = { authorization: `Bearer ${token}` };
  await inPool(Array.from({ length: Number(nArg) }), 20, () => send({ port, path: '/r', agent, headers }));
  if (silentArg === 'silent') {
    process.stdout.write('pause-now\n');
    await new Promise<void>((r) => process.stdin.once('data', () => r()));
    process.stdin.destroy(); // the pipe itself must not keep this process alive
    // Requests while Redis is silent: their store calls time out (their timers are the suspects).
    await inPool(Array.from({ length: 50 }), 20, () => send({ port, path: '/r', agent, headers }));
  }
  agent.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await jwt.close();
  await cache.close();
  process.stdout.write('closed\n');
}

main().catch((err) => {
  process.stdout.write(`error ${String(err)}\n`);
  process.exitCode = 1;
});
