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
