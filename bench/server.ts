/**
 * One benchmark variant: `server.ts <variant> <redisUrl>`; listens on a free loopback port and prints
 * `listening <port> <pid,pid…>` (the pids whose CPU time the harness reads). Every variant serves the
 * same tiny JSON route, limits set high so nothing is denied: the figures are overhead.
 * `GET /__bench/stats` (outside every middleware) reports the verified-token cache's hits and misses,
 * so a "fresh token" run can prove it never hit the cache. Variants ending in `-2proc` run two worker
 * processes (node:cluster) on one port and one Redis, as production does.
 */
import cluster from 'node:cluster';
import { createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import Redis from 'ioredis';
import { jwtVerify } from 'jose';
import { rateLimit } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { AnnoSessionBackend, InMemoryCache, JWTBackend, JWTService, RedisCache, RedisJWTService, limitMiddleware, limiter } from '../src';

const [variant, redisUrl] = process.argv.slice(2);
const secretKey = process.env.BENCH_KEY!;
const HIGH = 1_000_000_000;
const app = express();
const closers: (() => Promise<unknown>)[] = [];
const publicKey = createPublicKey(secretKey);
const stats = { verifiedHits: 0, verifiedMisses: 0 };
const benchMapA = new WeakMap<Request, string>();
const benchMapB = new WeakMap<Request, string>();
app.get('/__bench/stats', (req, res) => {
  res.json(stats);
});

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

/** jose verify with a hand-rolled cache of verified tokens: the lean reference for a reused token. */
function joseCachedVerify() {
  const verified = new Map<string, string>();
  return async function verifyCached(req: Request, res: Response, next: NextFunction) {
    const token = req.headers.authorization?.slice(7) ?? '';
    let sub = verified.get(token);
    if (sub === undefined) {
      try {
        const { payload } = await jwtVerify(token, publicKey, { algorithms: ['EdDSA'] });
        sub = String(payload.sub);
        if (verified.size < 10_000) verified.set(token, sub);
      } catch {
        res.status(401).json({ error: 'unauthorized' });
        return;
      }
    }
    (req as Request & { user?: unknown }).user = sub;
    next();
  };
}

function flexibleMemory() {
  const limiterMemory = new RateLimiterMemory({ points: HIGH, duration: 60 });
  return function rlfMemory(req: Request, res: Response, next: NextFunction) {
    limiterMemory.consume(req.ip ?? 'x').then(() => next(), () => res.status(429).json({ error: 'limited' }));
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

/** Counts the verified-token cache's hits by wrapping its `get` (bench instrumentation only). */
function countVerifiedHits(jwt: JWTService): void {
  const verified = (jwt as unknown as { ctx: { verified: { get(token: string): unknown } } }).ctx.verified;
  const get = verified.get.bind(verified);
  verified.get = (token: string) => {
    const value = get(token);
    if (value === undefined) stats.verifiedMisses++;
    else stats.verifiedHits++;
    return value;
  };
}

function webtool(cacheKind: 'redis' | 'memory', standardHeaders = true) {
  // WT_NOAP=1: ioredis auto-pipelining off (experiment; webtool's default has it on).
  const connection = process.env.WT_NOAP ? { host: new URL(redisUrl).hostname, port: Number(new URL(redisUrl).port), enableAutoPipelining: false } : redisUrl;
  const cache = cacheKind === 'redis' ? new RedisCache(connection, { keyPrefix: `wt${variant}:` }) : new InMemoryCache();
  // -vc1: a verified-token cache of one entry (experiment: what remembering fresh tokens costs).
  const verifiedTokenCacheSize = variant.endsWith('-vc1') ? 1 : undefined;
  const jwt = cache instanceof RedisCache ? new RedisJWTService(cache, { secretKey, verifiedTokenCacheSize }) : new JWTService(cache, { secretKey, verifiedTokenCacheSize });
  countVerifiedHits(jwt);
  closers.push(() => jwt.close(), () => cache.close());
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }), standardHeaders }));
}

/** Builds the variant's app (in each worker, never in a -2proc primary). */
function setup(): void {
  switch (variant) {
    case 'bare':
      app.get('/', handler);
      break;
    case 'async-headers':
    case 'async-headers-auth':
    case 'async-headers-weakmap':
      // The floor of any async limiter: one await and the same three fields webtool sets when it admits
      // (-auth: plus one property added to req, as `req.auth`; -weakmap: plus two WeakMap entries keyed by req).
      app.use(async function asyncHeaders(req: Request, res: Response, next: NextFunction) {
        await Promise.resolve();
        if (variant === 'async-headers-auth') req.auth = { identifier: 'bench-user', scope: null, extra: {} };
        else if (variant === 'async-headers-weakmap') {
          benchMapA.set(req, variant);
          benchMapB.set(req, variant);
        }
        res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60');
        res.setHeader('RateLimit', '"60s";r=999999999;t=60');
        res.setHeader('Access-Control-Expose-Headers', 'RateLimit, RateLimit-Policy, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
        next();
      });
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
    case 'rlf-memory':
      app.get('/', flexibleMemory(), handler);
      break;
    case 'jose-cached-evalsha':
      app.get('/', joseCachedVerify(), handEvalsha(), handler);
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
    case 'webtool-user-redis-fresh-vc1':
    case 'webtool-user-redis-zipf':
    case 'webtool-user-redis-2proc':
      webtool('redis');
      app.get('/', limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), handler);
      break;
    case 'webtool-user-redis-log':
      webtool('redis');
      // A sliding log is capped at MAX_SLIDING_LOG_LIMIT (10,000) per window: 10,000 per second stays
      // above the bench's request rate while the log holds a realistic, full-size window.
      app.get('/', limiter(10_000, 1, ['user'], { algorithm: 'sliding-log' }), handler);
      break;
    case 'webtool-user-redis-3rules':
      webtool('redis');
      app.get('/', limiter.all(limiter(HIGH, 1, ['user'], { algorithm: 'gcra' }), limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), limiter(HIGH, 3600, [], { algorithm: 'gcra' })), handler);
      break;
    case 'webtool-user-memory':
      webtool('memory');
      app.get('/', limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), handler);
      break;
    case 'webtool-user-memory-noheaders':
      webtool('memory', false);
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
}

const WORKERS = variant.endsWith('-2proc') ? 2 : 1;
if (WORKERS > 1 && cluster.isPrimary) {
  // The primary only forks and relays: the workers share one listening socket (round-robin).
  const pids: number[] = [];
  let port = 0;
  for (let i = 0; i < WORKERS; i++) {
    const worker = cluster.fork();
    worker.on('message', (m: { port?: number }) => {
      if (m.port) port = m.port;
      pids.push(worker.process.pid!);
      if (pids.length === WORKERS) console.log(`listening ${port} ${pids.join(',')}`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  setTimeout(stop, 5 * 60_000).unref();
} else {
  setup();
  listen();
}

function listen(): void {
  // Workers of a -2proc variant listen on port 0 too: node:cluster hands them one shared port.
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    if (cluster.isWorker) process.send!({ port });
    else console.log(`listening ${port} ${process.pid}`);
  });
  server.keepAliveTimeout = 60_000;
  // Under PROF=1, the request count goes to stderr on exit, so a profile's times can be read per request.
  let requests = 0;
  if (process.execArgv.includes('--cpu-prof')) {
    server.on('request', () => requests++);
    process.on('exit', () => console.error(`${variant} served ${requests} requests`));
  }
  process.on('SIGTERM', () => void shutdown(server));
  process.on('disconnect', () => void shutdown(server));
  // Bounded: never outlive the harness by more than a few minutes.
  setTimeout(() => void shutdown(server), 5 * 60_000).unref();
}

async function shutdown(server: ReturnType<typeof app.listen>): Promise<void> {
  server.close();
  server.closeAllConnections();
  await Promise.allSettled(closers.map((c) => c()));
  process.exit(0);
}
