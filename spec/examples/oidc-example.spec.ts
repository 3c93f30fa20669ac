import { expect } from 'chai';
import request from 'supertest';
import { createOidcApp } from '../../examples/oidc';
import { JWT_API, OPAQUE_API, RS_CLIENT, providerKey, startProvider, type TestProvider } from '../support/oidc-provider';

describe('examples/oidc.ts (routing-controllers app protected by a local OpenID provider)', () => {
  let provider: TestProvider;
  let example: ReturnType<typeof createOidcApp>;
  beforeEach(async () => {
    provider = await startProvider([await providerKey('k1')]);
    example = createOidcApp({ issuer: provider.issuer, audience: JWT_API, introspection: { clientId: RS_CLIENT.id, clientSecret: RS_CLIENT.secret } });
  });
  afterEach(async () => {
    await example.close();
    await provider.close();
  });

  it('200 for a provider JWT with the read scope (with roles and rate-limit headers), 401 without, 403 without the scope', async () => {
    const res = await request(example.app).get('/orders').set('Authorization', `Bearer ${await provider.token(JWT_API, 'read')}`).expect(200);
    expect(res.body).to.deep.equal({ owner: 'machine', roles: ['admin', 'user'], orders: [] });
    expect(res.headers).to.have.property('ratelimit');
    const anonymous = await request(example.app).get('/orders').expect(401);
    expect(anonymous.headers['www-authenticate']).to.match(/^Bearer/);
    await request(example.app).get('/orders').set('Authorization', `Bearer ${await provider.token(JWT_API, 'write')}`).expect(403);
  });

  it('accepts an opaque token by introspection', async () => {
    // The example's audience is the JWT API; an opaque token for it is refused, one for the opaque API too (wrong aud).
    await request(example.app).get('/orders').set('Authorization', `Bearer ${await provider.token(OPAQUE_API, 'read')}`).expect(401);
    const opaqueApp = createOidcApp({ issuer: provider.issuer, audience: OPAQUE_API, introspection: { clientId: RS_CLIENT.id, clientSecret: RS_CLIENT.secret } });
    try {
      const res = await request(opaqueApp.app).get('/orders').set('Authorization', `Bearer ${await provider.token(OPAQUE_API, 'read')}`).expect(200);
      expect(res.body.owner).to.equal('machine');
    } finally {
      await opaqueApp.close();
    }
  });

  it('503 problem when the provider does not answer', async () => {
    const token = await provider.token(JWT_API, 'read');
    provider.delayMs = Infinity;
    const started = Date.now();
    const res = await request(example.app).get('/orders').set('Authorization', `Bearer ${token}`).expect(503).expect('Content-Type', /problem\+json/);
    expect(JSON.parse(res.text)).to.deep.equal({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'ERR_WT_ISSUER_UNAVAILABLE' });
    expect(Date.now() - started).to.be.lessThan(5000); // default timeoutMs: 2000
  });
});

describe('examples/jwks.ts (key rotation and a JWKS for our own tokens)', () => {
  it('another service verifies tokens of the current and the previous key through the served JWKS', async () => {
    const { createServer } = await import('node:http');
    const { createJwksApp, createConsumerApp } = await import('../../examples/jwks');
    const { makeEdKey } = await import('../../src/utils/make-key');
    const { JWTService } = await import('../../src/auth/jwt-service');
    const { InMemoryCache } = await import('../../src/cache/in-memory-cache');
    const previous = makeEdKey();
    // the deployment before the rotation: `previous` was the current key, under kid 2026-05
    const before = new JWTService(new InMemoryCache(), { secretKey: previous, keyId: '2026-05', issuer: 'https://auth.example.com', audience: 'orders-api' });
    const issuer = createJwksApp({ previous });
    const server = createServer(issuer.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const jwksUri = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}/.well-known/jwks.json`;
      const res = await request(issuer.app).get('/.well-known/jwks.json').expect(200).expect('Cache-Control', 'public, max-age=300');
      expect(res.body.keys.map((k: { kid: string }) => k.kid)).to.deep.equal(['2026-11', '2026-05']);
      const consumer = createConsumerApp(jwksUri);
      const [current] = await issuer.jwtService.createToken({ sub: 'u-new' });
      await request(consumer).get('/whoami').set('Authorization', `Bearer ${current}`).expect(200).expect((r) => expect(r.body.identifier).to.equal('u-new'));
      const [old] = await before.createToken({ sub: 'u-old' });
      await request(consumer).get('/whoami').set('Authorization', `Bearer ${old}`).expect(200).expect((r) => expect(r.body.identifier).to.equal('u-old'));
      expect(await issuer.jwtService.validateAccessToken(old)).to.include({ sub: 'u-old' });
      const stranger = createJwksApp(); // same kid, another key
      const [foreign] = await stranger.jwtService.createToken({ sub: 'u-foreign' });
      await stranger.close();
      await request(consumer).get('/whoami').set('Authorization', `Bearer ${foreign}`).expect(401);
      await request(consumer).get('/whoami').expect(401);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await issuer.close();
      await before.close();
    }
  });
});
