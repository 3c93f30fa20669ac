/**
 * One benchmark variant as a single Node process: `server.ts <variant> <redisUrl>`; listens on a free
 * loopback port and prints `listening <port>`. Every variant serves the same tiny JSON route, limits
 * set high so nothing is denied: the figures are overhead.
 */
import { createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import Redis from 'ioredis';
import { jwtVerify } from 'jose';
import { rateLimit } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { AnnoSessionBackend, InMemoryCache, JWTBackend, JWTService, RedisCache, RedisJWTService, limitMiddleware, limiter } from '../src';

const [variant, redisUrl] = process.argv.slice(2);
const secretKey = process.env.BENCH_KEY!;
const HIGH = 1_000_000_000;
const app = express();
const closers: (() => Promise<unknown>)[] = [];
const publicKey = createPublicKey(secretKey);

const handler = (req: Request, res: Response) => {
  res.json({ status: 'success' });
};

function joseVerify() {
  return async function verify(req: Request, res: Response, next: NextFunction) {
    const token = req.headers.authorization?.slice(7) ?? '';
    try {
      const { payload } = await jwtVerify(token, publicKey, { algorithms: ['EdDSA'] });
      (req as Request & { user?: unknown }).user = payload.sub;
      next();
    } catch {
      res.status(401).json({ error: 'unauthorized' });
    }
  };
}

function redisClient(): Redis {
  const client = new Redis(redisUrl, { enableOfflineQueue: true });
  closers.push(() => client.quit());
  return client;
}

function flexibleRedis() {
  const limiterRedis = new RateLimiterRedis({ storeClient: redisClient(), points: HIGH, duration: 60, keyPrefix: `rlf${variant}` });
  return function rlf(req: Request, res: Response, next: NextFunction) {
    const key = (req as Request & { user?: string }).user ?? req.ip ?? 'x';
    limiterRedis.consume(key).then(() => next(), () => res.status(429).json({ error: 'limited' }));
  };
}

function handEvalsha() {
  const client = redisClient();
  client.defineCommand('benchIncr', {
    numberOfKeys: 1,
    lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
  });
  return function evalsha(req: Request, res: Response, next: NextFunction) {
    const key = `hand:{${(req as Request & { user?: string }).user}}`;
    (client as unknown as { benchIncr(k: string, ms: number): Promise<number> }).benchIncr(key, 60_000).then(() => next(), () => res.status(503).end());
  };
}

function webtool(cacheKind: 'redis' | 'memory') {
  const cache = cacheKind === 'redis' ? new RedisCache(redisUrl, { keyPrefix: `wt${variant}:` }) : new InMemoryCache();
  const jwt = cache instanceof RedisCache ? new RedisJWTService(cache, { secretKey }) : new JWTService(cache, { secretKey });
  closers.push(() => jwt.close(), () => cache.close());
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }) }));
}

switch (variant) {
  case 'bare':
    app.get('/', handler);
    break;
  case 'erl-memory':
    app.get('/', rateLimit({ windowMs: 60_000, limit: HIGH, standardHeaders: 'draft-8', legacyHeaders: false }), handler);
    break;
  case 'erl-redis': {
    const client = redisClient();
    const store = new RateLimitRedisStore({ sendCommand: (...args: string[]) => client.call(args[0], ...args.slice(1)) as never, prefix: 'erl:' });
    app.get('/', rateLimit({ windowMs: 60_000, limit: HIGH, standardHeaders: 'draft-8', legacyHeaders: false, store }), handler);
    break;
  }
  case 'rlf-redis':
    app.get('/', flexibleRedis(), handler);
    break;
  case 'jose':
    app.get('/', joseVerify(), handler);
    break;
  case 'jose-rlf-redis':
    app.get('/', joseVerify(), flexibleRedis(), handler);
    break;
  case 'jose-evalsha':
    app.get('/', joseVerify(), handEvalsha(), handler);
    break;
  // gcra: the O(1) algorithm, what large limits call for; the sliding log is measured separately.
  case 'webtool-anno-redis':
    webtool('redis');
    app.get('/', limiter(HIGH, 60, ['anno'], { algorithm: 'gcra' }), handler);
    break;
  case 'webtool-user-redis':
  case 'webtool-user-redis-fresh':
    webtool('redis');
    app.get('/', limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), handler);
    break;
  case 'webtool-user-redis-log':
    webtool('redis');
    // A sliding log is capped at MAX_SLIDING_LOG_LIMIT (10,000) per window: 10,000 per second stays
    // above the bench's request rate while the log holds a realistic, full-size window.
    app.get('/', limiter(10_000, 1, ['user']), handler);
    break;
  case 'webtool-user-memory':
    webtool('memory');
    app.get('/', limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), handler);
    break;
  case 'webtool-unlimited-redis':
    webtool('redis');
    app.get('/', handler);
    break;
  default:
    console.error(`unknown variant ${variant}`);
    process.exit(2);
}

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
server.keepAliveTimeout = 60_000;

async function shutdown(): Promise<void> {
  server.close();
  server.closeAllConnections();
  await Promise.allSettled(closers.map((c) => c()));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('disconnect', () => void shutdown());
// Bounded: never outlive the harness by more than a few minutes.
setTimeout(() => void shutdown(), 5 * 60_000).unref();
