/** @module Helpers of the attack-r7 specs: timed requests and a silenced private Redis. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { JWTService } from '../../src/auth/jwt-service';
import { RedisCache } from '../../src/cache/redis-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { keepAliveAgent, send } from '../support/http-load';

export interface Timed {
  status: number;
  ms: number;
  body: any;
  type: string | undefined;
  headers: Record<string, string>;
}

/** One GET, timed from its own start; a request not answered within 10 s is status -1. */
export function timed(server: Server, path: string, headers: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  const req = request(server).get(path).timeout(10_000);
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req.then(
    (res) => ({ status: res.status, ms: performance.now() - t0, body: res.body, type: res.headers['content-type'], headers: res.headers }),
    (err: Error & { timeout?: number }) => ({ status: err.timeout ? -1 : -2, ms: performance.now() - t0, body: String(err), type: undefined, headers: {} }),
  );
}

/** Redis at `url` answers no client for `ms` (CLIENT PAUSE … ALL): connected, but silent. */
export async function pause(url: string, ms: number): Promise<void> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  await admin.connect();
  await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  admin.disconnect();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `{ status: count }` of some replies. */
export function histogram(replies: { status: number }[]): Record<number, number> {
  const h: Record<number, number> = {};
  for (const r of replies) h[r.status] = (h[r.status] ?? 0) + 1;
  return h;
}

export function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

/**
 * A listening app on the RedisCache at `url` (key prefix `prefix`): JWT users, one GCRA limit on
 * `/r`, storeTimeoutMs 200; `get()` sends one authenticated keep-alive request; `close()` closes all.
 */
export async function jwtLimitedServer(url: string, prefix: string, logger: { warn(message: string): void }) {
  const cache = new RedisCache(url, { keyPrefix: prefix, logger });
  await cache.ready();
  const jwt = new JWTService(cache, { secretKey: makeEdKey() });
  const [token] = await jwt.createToken({ sub: `${prefix}user` });
  const app = express();
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger, storeTimeoutMs: 200 }));
  app.get('/r', limiter(1_000_000, 60, undefined, { algorithm: 'gcra' }), (req, res) => res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const agent = keepAliveAgent(20);
  const headers = { authorization: `Bearer ${token}` };
  return {
    get: () => send({ port, path: '/r', agent, headers }),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await jwt.close();
      await cache.close();
    },
  };
}
