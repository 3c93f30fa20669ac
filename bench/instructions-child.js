// The app of bench/instructions.ts: `node instructions-child.js <built src dir> <variant> <requests>`. Each request is a real
// IncomingMessage/ServerResponse pair dispatched by app.handle, written to a sink socket (as bench/app-path.ts).
const { IncomingMessage, ServerResponse } = require('node:http');
const { Duplex } = require('node:stream');
const express = require('express');
const [dir, variant, nStr] = process.argv.slice(2);
const wt = require(dir);
const sign = require(dir + '/auth/jwt/sign');
const opts = require(dir + '/auth/jwt/options');
const HIGH = 1e9;
(async () => {
  // FRESH_FILE: pre-signed tokens (one per line, signed with FRESH_KEY) for *fresh* variants: every request a new token.
  const fresh = variant.includes('fresh') ? require('node:fs').readFileSync(process.env.FRESH_FILE, 'utf8').split('\n') : null;
  const secretKey = fresh ? process.env.FRESH_KEY : wt.makeEdKey();
  const app = express();
  // A variant that authenticates must have authenticated (a refused token would otherwise pass as anonymous).
  const authenticates = variant.includes('user') || variant.startsWith('jose');
  const handler = (req, res) => (authenticates && !req.auth && !req.user ? res.status(401).end() : res.json({ status: 'success' }));
  const closers = [];
  if (variant === 'bare') app.get('/', handler);
  else if (variant === 'async-headers') {
    app.use(async (_req, res, next) => { await Promise.resolve(); res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60'); res.setHeader('RateLimit', '"60s";r=999999999;t=60'); next(); });
    app.get('/', handler);
  } else if (variant === 'async-headers-auth') {
    app.use(async (req, res, next) => { await Promise.resolve(); if (variant.endsWith('auth')) req.auth = { identifier: 'u', scope: null, extra: {} }; res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60'); res.setHeader('RateLimit', '"60s";r=999999999;t=60'); next(); });
    app.get('/', handler);
  } else if (variant === 'rlf-memory') {
    // The peer of the InMemoryCache target (bench/server.ts's flexibleMemory).
    const { RateLimiterMemory } = require('rate-limiter-flexible');
    const limiterMemory = new RateLimiterMemory({ points: HIGH, duration: 60 });
    app.get('/', (req, res, next) => { limiterMemory.consume(req.ip ?? 'x').then(() => next(), () => res.status(429).json({ error: 'limited' })); }, handler);
  } else if (variant === 'erl-memory') {
    const { rateLimit } = require('express-rate-limit');
    app.get('/', rateLimit({ windowMs: 60_000, limit: HIGH, standardHeaders: 'draft-8', legacyHeaders: false, validate: false, keyGenerator: (req) => req.ip ?? 'x' }), handler);
  } else if (variant.startsWith('jose-fresh')) {
    // jose verify of every request's token, `req.user` set (-rlf: then rate-limiter-flexible memory by user).
    const { jwtVerify } = require('jose');
    const { createPublicKey } = require('node:crypto');
    const publicKey = createPublicKey(secretKey);
    const { RateLimiterMemory } = require('rate-limiter-flexible');
    const limiterMemory = new RateLimiterMemory({ points: HIGH, duration: 60 });
    app.get('/', async (req, res, next) => {
      // -fn: the key given as a function of the header; -opts: webtool's verification options (typ, required claims).
      const key = variant.includes('-fn') ? () => publicKey : publicKey;
      const options = variant.includes('-opts') ? { algorithms: ['EdDSA'], typ: 'at+jwt', requiredClaims: ['sub', 'jti', 'iat', 'exp'] } : { algorithms: ['EdDSA'] };
      try { req.user = String((await jwtVerify(req.headers.authorization.slice(7), key, options)).payload.sub); } catch { res.status(401).json({ error: 'unauthorized' }); return; }
      if (variant.endsWith('-rlf')) limiterMemory.consume(req.user).then(() => next(), () => res.status(429).json({ error: 'limited' }));
      else next();
    }, handler);
  } else if (variant.startsWith('wt-validate-fresh')) {
    // JWTService.validateAccessToken alone (no limiter), `req.user` set: jose-fresh's shape with webtool's checks.
    const cache = new wt.InMemoryCache();
    const jwt = new wt.JWTService(cache, { secretKey });
    closers.push(() => jwt.close(), () => cache.close());
    app.get('/', async (req, res, next) => {
      const payload = await jwt.validateAccessToken(req.headers.authorization.slice(7));
      if (!payload) { res.status(401).end(); return; }
      req.user = payload.sub;
      next();
    }, handler);
  } else if (variant.startsWith('webtool-user-memory')) {
    const cache = new wt.InMemoryCache();
    // -vc1: a verified-token cache of one entry (what remembering every fresh token costs).
    const jwt = new wt.JWTService(cache, { secretKey, verifiedTokenCacheSize: variant.includes('-vc1') ? 1 : undefined });
    closers.push(() => jwt.close(), () => cache.close());
    app.use(wt.limitMiddleware({ cache, authBackend: new wt.JWTBackend(jwt), annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }), standardHeaders: !variant.endsWith('noheaders') }));
    app.get('/', wt.limiter(HIGH, 60, ['user'], { algorithm: variant.includes('log') ? 'sliding-log' : 'gcra' }), handler);
  } else if (variant.startsWith('webtool-user-redis')) {
    // REDIS_URL (default 127.0.0.1:6379), a key prefix of its own.
    // `-noap`: ioredis auto-pipelining off (it is on in every RedisCache webtool builds from a URL).
    const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const connection = variant.includes('-noap') ? { host: url.hostname, port: Number(url.port || 6379), enableAutoPipelining: false } : url.href;
    const cache = new wt.RedisCache(connection, { keyPrefix: `instr${process.pid}:` });
    const jwt = new wt.RedisJWTService(cache, { secretKey });
    closers.push(() => jwt.close(), () => cache.close());
    app.use(wt.limitMiddleware({ cache, authBackend: new wt.JWTBackend(jwt), annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }), standardHeaders: !variant.endsWith('noheaders') }));
    app.get('/', wt.limiter(HIGH, 60, ['user'], { algorithm: variant.includes('log') ? 'sliding-log' : 'gcra' }), handler);
  } else if (variant === 'jose-cached-evalsha') {
    // bench/server.ts's reference: jose verify with a hand-rolled cache, then one hand-written EVALSHA.
    const { jwtVerify } = require('jose');
    const { createPublicKey } = require('node:crypto');
    const Redis = require('ioredis');
    const publicKey = createPublicKey(secretKey);
    const verified = new Map();
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    closers.push(() => client.quit());
    client.defineCommand('benchIncr', { numberOfKeys: 1, lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n" });
    app.get('/', async (req, res, next) => {
      const token = req.headers.authorization?.slice(7) ?? '';
      let sub = verified.get(token);
      if (sub === undefined) {
        try { sub = String((await jwtVerify(token, publicKey, { algorithms: ['EdDSA'] })).payload.sub); verified.set(token, sub); } catch { res.status(401).json({ error: 'unauthorized' }); return; }
      }
      req.user = sub;
      next();
    }, (req, res, next) => { client.benchIncr(`hand${process.pid}:{${req.user}}`, 60000).then(() => next(), () => res.status(503).end()); }, handler);
  } else if (variant.startsWith('webtool-ip-memory')) {
    // No authentication: the caller is counted by IP (what rate-limiter-flexible's variant does).
    const cache = new wt.InMemoryCache();
    app.use(wt.limitMiddleware({ cache, annoBackend: false, standardHeaders: !variant.endsWith('noheaders') }));
    app.get('/', wt.limiter(HIGH, 60, [], { algorithm: 'gcra' }), handler);
  } else if (variant === 'webtool-anno-memory') {
    const cache = new wt.InMemoryCache();
    app.use(wt.limitMiddleware({ cache, annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }) }));
    app.get('/', wt.limiter(HIGH, 60, ['anno'], { algorithm: 'gcra' }), handler);
  } else if (variant === 'webtool-identify') {
    const cache = new wt.InMemoryCache();
    const jwt = new wt.JWTService(cache, { secretKey });
    closers.push(() => jwt.close(), () => cache.close());
    app.use(wt.identify({ backends: [new wt.JWTBackend(jwt)] }));
    app.get('/', handler);
  } else throw new Error('variant ' + variant);
  const config = opts.parseJWTOptions({ secretKey });
  const token = await sign.signToken(config, { claims: { sub: 'bench-user' }, type: 'access', jti: sign.newTokenId(), fid: sign.newTokenId(), iat: Math.floor(Date.now() / 1000), ttlS: 3600 });
  const rawHeaders = ['Host', '127.0.0.1:3000', 'Connection', 'keep-alive', 'Authorization', `Bearer ${token}`];
  let next = 0;
  const makeSocket = () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); }, writev(_c, cb) { cb(); } });
  const sockets = Array.from({ length: 10 }, makeSocket);
  const one = (socket) => new Promise((resolve, reject) => {
    const req = new IncomingMessage(socket);
    req.httpVersionMajor = 1; req.httpVersionMinor = 1; req.httpVersion = '1.1'; req.url = '/'; req.method = 'GET';
    if (fresh) rawHeaders[5] = `Bearer ${fresh[next++]}`;
    req._addHeaderLines(rawHeaders, rawHeaders.length);
    req.complete = true; req.push(null);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = true; res.assignSocket(socket);
    res.once('finish', () => { res.detachSocket(socket); res.statusCode !== 200 ? reject(new Error('status ' + res.statusCode)) : resolve(); });
    app.handle(req, res, (err) => reject(err || new Error('404')));
  });
  const round = async (n) => { let left = n; await Promise.all(sockets.map(async (s) => { while (left-- > 0) await one(s); })); };
  await round(Number(nStr));
  await Promise.allSettled(closers.map((c) => c()));
  process.exit(0);
})();
