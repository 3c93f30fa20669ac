/**
 * Our own tokens with key rotation: the service signs with the current key (its `kid` in every
 * header), still verifies tokens of the previous key until they expire, and publishes both public
 * keys at /.well-known/jwks.json so other services can verify our tokens.
 * Rotate: make a new key, move the current one to `previousKeys`, deploy; remove it from
 * `previousKeys` once `refreshTokenExpireTime` has passed.
 */
import express from 'express';
import { InMemoryCache, JWTService, OIDCBackend, jwksHandler, limitMiddleware, makeEcKey, makeEdKey } from '../src';

/** Builds the token service and an app serving its JWKS; `close()` releases both. */
export function createJwksApp(keys: { current?: string; previous?: string } = {}) {
  const cache = new InMemoryCache();
  const currentKey = keys.current ?? makeEcKey();
  const previousKey = keys.previous ?? makeEdKey();
  const jwtService = new JWTService(cache, {
    secretKey: currentKey,
    keyId: '2026-11',
    previousKeys: [{ key: previousKey, kid: '2026-05' }],
    issuer: 'https://auth.example.com',
    audience: 'orders-api',
  });
  const app = express();
  app.get('/.well-known/jwks.json', jwksHandler(jwtService, { maxAgeS: 300 }));
  const close = async () => {
    await jwtService.close();
    await cache.close();
  };
  return { app, jwtService, close };
}

/** Another service of ours that trusts those tokens through the published JWKS. */
export function createConsumerApp(jwksUri: string) {
  const app = express();
  app.use(
    limitMiddleware({
      cache: new InMemoryCache(),
      backends: [new OIDCBackend({ issuer: 'https://auth.example.com', audience: 'orders-api', jwksUri, requireAtJwt: true })],
    }),
  );
  app.get('/whoami', (req, res) => {
    res.status(req.auth ? 200 : 401).json(req.auth ?? { title: 'Unauthorized' });
  });
  return app;
}
