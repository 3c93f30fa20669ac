/**
 * Authentication without limits: `identify()` alone, with the app's own express-session login
 * verified by `SessionBackend` and bearer tokens by `JWTBackend`. No rate-limit cache is involved.
 */
import express from 'express';
import session from 'express-session';
import { identify, InMemoryCache, JWTBackend, JWTService, makeEdKey, SessionBackend } from '../src';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
  }
}

/** Builds the app; `close()` releases the token service. */
export function createSessionApp(sessionSecret: string) {
  const cache = new InMemoryCache();
  const jwtService = new JWTService(cache, { secretKey: makeEdKey() });

  const app = express();
  app.use(express.json());
  app.use(session({ secret: sessionSecret, resave: false, saveUninitialized: false }));
  const sessions = new SessionBackend('connect.sid', {
    kind: 'user',
    // express-session has checked the cookie's signature and loaded the session from its store:
    // a made-up, forged or expired cookie gives an empty session, so no user.
    verify: (value, req) => (req.session.userId ? { identifier: req.session.userId, scope: null, extra: {} } : null),
  });
  app.use(identify({ backends: [new JWTBackend(jwtService), sessions] }));

  app.post('/login', (req, res) => {
    // An example only: check the password here.
    req.session.userId = String(req.body.user);
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    if (!req.auth) return void res.status(401).json({ error: 'unauthorized' });
    res.json(req.auth);
  });

  const close = async () => {
    await jwtService.close();
    await cache.close();
  };
  return { app, jwtService, close };
}
