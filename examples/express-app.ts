/**
 * The seed's Throttling example on plain Express (no routing-controllers): limits per route,
 * for everyone (/api/1/), anonymous callers (/api/2/) and authenticated users (/api/3/).
 */
import express from 'express';
import { InMemoryCache, JWTBackend, JWTService, limitMiddleware, limiter, makeEdKey } from '../src';

/** Builds the app; `close()` releases the cache and the token service. */
export function createExpressApp() {
  const cache = new InMemoryCache();
  const jwtService = new JWTService(cache, { secretKey: makeEdKey() });

  const app = express();
  app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwtService) }));

  app.get('/api/1/', limiter(10, 10), (req, res) => {
    res.json({ status: 'success' });
  });
  app.get('/api/2/', limiter(10, 10, ['anno']), (req, res) => {
    res.json({ status: 'success' });
  });
  app.get('/api/3/', limiter(10, 10, ['user']), (req, res) => {
    res.json({ status: 'success', user: req.auth?.identifier });
  });
  // Two rules decided together: a request denied by one is counted by neither.
  app.get('/search/', limiter.all(limiter(5, 1), limiter(100, 3600)), (req, res) => {
    res.json({ status: 'success' });
  });

  const close = async () => {
    await jwtService.close();
    await cache.close();
  };
  return { app, jwtService, close };
}
