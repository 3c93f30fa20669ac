/**
 * Per-request CPU of a whole Express app, in-process, without sockets: `app-path.ts <variant,…> [rounds]`.
 * Each request is a real `http.IncomingMessage` / `http.ServerResponse` pair (as node:http's parser
 * makes them) dispatched by `app.handle`, so Express's and Node's own code run on the objects our
 * middleware touched (hidden classes, WeakMap keys, microtask hops all count, unlike hot-path.ts's
 * mock). The response is written to a sink socket. Variants are run interleaved, `rounds` times each,
 * in ONE process per variant (fresh JIT state), and the median and spread are printed.
 * `DIR=/other/checkout` in a variant as `name@/dir` measures that checkout's src.
 */
import { spawnSync } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';

const HIGH = 1_000_000_000;

async function child(variant: string, dir: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wt = require(join(dir, 'src')) as typeof import('../src');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sign = require(join(dir, 'src/auth/jwt/sign')) as typeof import('../src/auth/jwt/sign');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const opts = require(join(dir, 'src/auth/jwt/options')) as typeof import('../src/auth/jwt/options');
  const secretKey = wt.makeEdKey();
  const app = express();
  const handler = (_req: Request, res: Response) => {
    res.json({ status: 'success' });
  };
  app.get('/__bench/stats', (_req, res) => {
    res.json({});
  });
  const closers: (() => Promise<unknown>)[] = [];
  switch (variant) {
    case 'bare':
      app.get('/', handler);
      break;
    case 'async-headers':
      // One await and the same three fields webtool sets on an admitted request.
      app.use(async function asyncHeaders(_req: Request, res: Response, next: NextFunction) {
        await Promise.resolve();
        res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60');
        res.setHeader('RateLimit', '"60s";r=999999999;t=60');
        res.setHeader('Access-Control-Expose-Headers', 'RateLimit, RateLimit-Policy, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
        next();
      });
      app.get('/', handler);
      break;
    case 'webtool-user-memory':
    case 'webtool-user-memory-noheaders': {
      const cache = new wt.InMemoryCache();
      const jwt = new wt.JWTService(cache, { secretKey });
      closers.push(() => jwt.close(), () => cache.close());
      app.use(wt.limitMiddleware({ cache, authBackend: new wt.JWTBackend(jwt), annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }), standardHeaders: !variant.endsWith('noheaders') }));
      app.get('/', wt.limiter(HIGH, 60, ['user'], { algorithm: 'gcra' }), handler);
      break;
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
  const config = opts.parseJWTOptions({ secretKey });
  const token = await sign.signToken(config, { claims: { sub: 'bench-user' }, type: 'access', jti: sign.newTokenId(), fid: sign.newTokenId(), iat: Math.floor(Date.now() / 1000), ttlS: 3600 });
  const rawHeaders = ['Host', '127.0.0.1:3000', 'Connection', 'keep-alive', 'Authorization', `Bearer ${token}`];

  // A socket that swallows what is written (the response bytes are still produced by Node).
  const makeSocket = () => new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); }, writev(_chunks, cb) { cb(); } });
  const sockets = Array.from({ length: 50 }, makeSocket);
  const one = (socket: Duplex) =>
    new Promise<void>((resolve, reject) => {
      // As node:http's parser does (parserOnHeadersComplete) for a keep-alive GET.
      const req = new IncomingMessage(socket as never);
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.httpVersion = '1.1';
      req.url = '/';
      req.method = 'GET';
      (req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(rawHeaders, rawHeaders.length);
      req.complete = true;
      req.push(null);
      const res = new ServerResponse(req);
      res.shouldKeepAlive = true;
      res.assignSocket(socket as never);
      res.once('finish', () => {
        res.detachSocket(socket as never);
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else resolve();
      });
      (app as unknown as { handle(req: unknown, res: unknown, done: (err?: unknown) => void): void }).handle(req, res, (err) => reject(err ?? new Error('404')));
    });
  const round = async (n: number): Promise<number> => {
    let left = n;
    const start = process.cpuUsage();
    await Promise.all(sockets.map(async (s) => { while (left-- > 0) await one(s); }));
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  const n = Number(process.env.APP_PATH_N ?? 40_000);
  await round(Math.ceil(n * 0.75));
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) xs.push(await round(n));
  process.stdout.write(JSON.stringify(xs));
  await Promise.allSettled(closers.map((c) => c()));
  process.exit(0);
}

function main(): void {
  const variants = process.argv[2].split(',');
  const rounds = Number(process.argv[3] ?? 5);
  const results: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const out = spawnSync(process.execPath, [...(process.env.NODE_FLAGS?.split(' ').filter(Boolean) ?? []), '-r', 'ts-node/register/transpile-only', __filename, '--child', v], { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
      if (out.status !== 0) throw new Error(`${v}: ${out.stderr}`);
      const xs = JSON.parse(out.stdout) as number[];
      const med = [...xs].sort((a, b) => a - b)[1];
      (results[v] ??= []).push(med);
      console.log(`${v.padEnd(36)} ${med.toFixed(2).padStart(7)} µs/req  (${xs.map((x) => x.toFixed(1)).join(' ')})`);
    }
  }
  for (const [v, xs] of Object.entries(results)) {
    const s = [...xs].sort((a, b) => a - b);
    console.log(`${v.padEnd(36)} median ${s[Math.floor(s.length / 2)].toFixed(2)}  spread ${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)}`);
  }
}

if (process.argv[2] === '--child') {
  const [name, dir] = process.argv[3].split('@');
  void child(name, dir ?? join(__dirname, '..'));
} else main();
