/**
 * @module A worker process for the exactness suite: an Express app with limitMiddleware +
 * limiter(100, 3600) on a RedisCache. Forked with `-r ts-node/register/transpile-only`; configured
 * by env (REDIS_URL, KEY_PREFIX, JWT_KEY, SESSION_SECRET); reports its port with `process.send`
 * and exits when the parent disconnects.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';

const quiet = { warn: () => {} };
const cache = new RedisCache(process.env.REDIS_URL!, { keyPrefix: process.env.KEY_PREFIX!, logger: quiet });
const jwt = new JWTService(cache, { secretKey: process.env.JWT_KEY! });
const app = express();
app.use(limitMiddleware({
  cache,
  authBackend: new JWTBackend(jwt),
  // The spec mints 25 sessions from loopback in a few seconds: above the default 10 per IP per minute.
  annoBackend: new AnnoSessionBackend({ secure: false, secret: process.env.SESSION_SECRET!, mintBudget: { limit: 100, windowMs: 60_000 } }),
  // The DEFAULT store options (issue 8 item 5): the suite proves that what users run is exact under load.
  // Store warnings are printed: a fallback during an exactness run must be visible.
  logger: { warn: (message) => console.error(`      worker ${process.pid}: ${message}`) },
}));
// Sessions are minted only where a limit admitted the request.
app.get('/hello', limiter(1_000_000, 60, [], { algorithm: 'gcra' }), (req, res) => res.json({ ok: true }));
// 100 per HOUR: on busy shared cores a test can outlast a minute, and a sliding minute would then
// rightly admit more than 100 — exactness is the property, not the window.
app.get('/limited', limiter(100, 3600), (req, res) => res.json({ id: req.auth?.identifier ?? null }));
app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
  res.status(500).json({ error: err.name });
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
// The load client keeps 200 sockets alive between bursts; on busy shared cores a gap can pass Node's
// 5 s idle close just as the client reuses the socket ("socket hang up": the harness, not a limit).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close();
  void jwt.close().then(() => cache.close());
});
