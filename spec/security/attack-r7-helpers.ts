/** @module Helpers of the attack-r7 specs: timed requests and a silenced private Redis. */
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import request from 'supertest';

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
