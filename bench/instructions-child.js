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
  const secretKey = wt.makeEdKey();
  const app = express();
  const handler = (_req, res) => res.json({ status: 'success' });
  const closers = [];
  if (variant === 'bare') app.get('/', handler);
  else if (variant === 'async-headers') {
    app.use(async (_req, res, next) => { await Promise.resolve(); res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60'); res.setHeader('RateLimit', '"60s";r=999999999;t=60'); next(); });
    app.get('/', handler);
  } else if (variant === 'async-headers-auth') {
    app.use(async (req, res, next) => { await Promise.resolve(); if (variant.endsWith('auth')) req.auth = { identifier: 'u', scope: null, extra: {} }; res.setHeader('RateLimit-Policy', '"60s";q=1000000000;w=60'); res.setHeader('RateLimit', '"60s";r=999999999;t=60'); next(); });
    app.get('/', handler);
  } else if (variant.startsWith('webtool-user-memory')) {
    const cache = new wt.InMemoryCache();
    const jwt = new wt.JWTService(cache, { secretKey });
    closers.push(() => jwt.close(), () => cache.close());
    app.use(wt.limitMiddleware({ cache, authBackend: new wt.JWTBackend(jwt), annoBackend: new wt.AnnoSessionBackend({ secure: false, secret: 's'.repeat(32) }), standardHeaders: !variant.endsWith('noheaders') }));
    app.get('/', wt.limiter(HIGH, 60, ['user'], { algorithm: variant.includes('log') ? 'sliding-log' : 'gcra' }), handler);
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
  const makeSocket = () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); }, writev(_c, cb) { cb(); } });
  const sockets = Array.from({ length: 10 }, makeSocket);
  const one = (socket) => new Promise((resolve, reject) => {
    const req = new IncomingMessage(socket);
    req.httpVersionMajor = 1; req.httpVersionMinor = 1; req.httpVersion = '1.1'; req.url = '/'; req.method = 'GET';
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
