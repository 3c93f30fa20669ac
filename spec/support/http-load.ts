/**
 * @module Plain `node:http` load helpers for the reliability and security suites: supertest opens a
 * connection per request, far too slow for thousands; these reuse keep-alive sockets from a bounded pool.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** One answered request. `ms` is its wall-clock latency as the client saw it. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** What to send. `headers` may carry raw arrays (e.g. several Cookie lines). */
export interface Outgoing {
  port: number;
  path: string;
  method?: string;
  headers?: OutgoingHttpHeaders;
  agent?: http.Agent;
  /** Fails the request (rejects) after this long, so a hang is a test failure, not a mocha timeout. @default 10000 */
  timeoutMs?: number;
}

/** Sends one request to 127.0.0.1 and reads the whole body. */
export function send({ port, path, method = 'GET', headers = {}, agent, timeoutMs = 10_000 }: Outgoing): Promise<Reply> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - started) / 1e6 }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} got no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive agent with at most `maxSockets` connections (the pool size). */
export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** Runs `fn` over `items` with at most `concurrency` in flight; results in input order. */
export async function inPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Counts of each status code, e.g. `{ 200: 100, 429: 1900 }`. */
export function statusCounts(replies: readonly Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
