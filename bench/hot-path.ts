/**
 * The per-request CPU of webtool's middleware alone, in-process (no sockets, no Express dispatch):
 * `hot-path.ts <memory|redis|redis-log|redis-3rules> [redisUrl]`. Runs limitMiddleware then the route's
 * limiter on a mock request, 50 in flight, and prints CPU µs per request (process.cpuUsage) over
 * 5 rounds: far steadier on a shared machine than a socket run, and only our code is in it.
 * `DIR=/other/checkout` measures that checkout's src (a before/after comparison).
 */
import express from 'express';
import { join } from 'node:path';

const [kind = 'memory', redisUrl = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wt = require(join(process.env.DIR ?? join(__dirname, '..'), 'src')) as typeof import('../src');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sign = require(join(process.env.DIR ?? join(__dirname, '..'), 'src/auth/jwt/sign')) as typeof import('../src/auth/jwt/sign');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const opts = require(join(process.env.DIR ?? join(__dirname, '..'), 'src/auth/jwt/options')) as typeof import('../src/auth/jwt/options');

async function main(): Promise<void> {
  const secretKey = wt.makeEdKey();
  const HIGH = 1_000_000_000;
  const cache = kind === 'memory' ? new wt.InMemoryCache() : new wt.RedisCache(redisUrl, { keyPrefix: `hotpath${process.pid}:` });
  const jwt = cache instanceof wt.RedisCache ? new wt.RedisJWTService(cache, { secretKey }) : new wt.JWTService(cache, { secretKey });
  await jwt.ready;
  const mw = wt.limitMiddleware({ cache, authBackend: new wt.JWTBackend(jwt), annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }) });
  const lim =
    kind === 'redis-log' ? wt.limiter(10_000, 1, ['user'], { algorithm: 'sliding-log' })
    : kind === 'redis-3rules' ? wt.limiter.all(wt.limiter(HIGH, 1, ['user'], { algorithm: 'gcra' }), wt.limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), wt.limiter(HIGH, 3600, [], { algorithm: 'gcra' }))
    : wt.limiter(HIGH, 60, ['user'], { algorithm: 'gcra' });
  const app = express();
  app.get('/', lim, (_req, res) => res.end());
  const config = opts.parseJWTOptions({ secretKey });
  // Ten users, round-robin: each stays under a sliding log's 10,000 per second at in-process rates.
  const tokens = await Promise.all(
    Array.from({ length: 10 }, (_, i) => sign.signToken(config, { claims: { sub: `bench-user-${i}` }, type: 'access', jti: sign.newTokenId(), fid: sign.newTokenId(), iat: Math.floor(Date.now() / 1000), ttlS: 3600 })),
  );
  let turn = 0;
  const route = (app as unknown as { _router: { stack: { route?: unknown }[] } })._router.stack.find((l) => l.route)!.route;

  const one = async (): Promise<void> => {
    const headers: Record<string, unknown> = {};
    const req = { headers: { authorization: `Bearer ${tokens[turn++ % tokens.length]}` }, method: 'GET', url: '/', baseUrl: '', originalUrl: '/', app, ip: '127.0.0.1', route, socket: {}, get: () => undefined } as never;
    const res = {
      headersSent: false,
      setHeader: (k: string, v: unknown) => void (headers[k.toLowerCase()] = v),
      getHeader: (k: string) => headers[k.toLowerCase()],
      status() { throw new Error('denied'); },
    } as never;
    await new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => lim(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  };
  const round = async (n: number): Promise<number> => {
    let left = n;
    const start = process.cpuUsage();
    await Promise.all(Array.from({ length: 50 }, async () => { while (left-- > 0) await one(); }));
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  await round(20_000); // warm-up: JIT, caches
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) xs.push(await round(kind === 'memory' ? 50_000 : 20_000));
  xs.sort((a, b) => a - b);
  console.log(`${kind}${process.env.DIR ? `@${process.env.DIR}` : ''} median ${xs[2].toFixed(2)} µs/req  spread ${xs[0].toFixed(2)}–${xs[4].toFixed(2)}`);
  await jwt.close?.();
  await cache.close();
  process.exit(0);
}
void main();
