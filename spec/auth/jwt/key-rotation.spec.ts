import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import type { Request } from 'express';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, SignJWT, createRemoteJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { JWTService } from '../../../src/auth/jwt-service';
import { jwksHandler } from '../../../src/auth/jwks';
import { OIDCBackend } from '../../../src/auth/oidc/oidc-backend';
import { makeEcKey, makeEdKey, makeSymmetricKey } from '../../../src/utils/make-key';
import { quietLogger } from '../../support/app-factory';

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as Request;

describe('JWTService key rotation (keyId, previousKeys)', () => {
  const cache = new InMemoryCache();
  const oldKey = makeEdKey();
  const newKey = makeEcKey();
  const services: JWTService[] = [];
  const service = (options: Partial<ConstructorParameters<typeof JWTService>[1]>) => {
    const s = new JWTService(cache, { secretKey: newKey, keyId: 'k2', ...options } as ConstructorParameters<typeof JWTService>[1]);
    services.push(s);
    return s;
  };
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    await cache.close();
  });

  it("signs with the current key and names it in the header's kid", async () => {
    const [access, refresh] = await service({}).createToken({ sub: 'u1' });
    expect(decodeProtectedHeader(access)).to.include({ kid: 'k2', alg: 'ES256', typ: 'at+jwt' });
    expect(decodeProtectedHeader(refresh)).to.include({ kid: 'k2', alg: 'ES256', typ: 'rt+jwt' });
  });

  it('after rotation, tokens of the previous key stay valid; once it is removed they are refused', async () => {
    const before = service({ secretKey: oldKey, keyId: 'k1' });
    const [access, refresh] = await before.createToken({ sub: 'u1' });
    const rotated = service({ previousKeys: [{ key: oldKey, kid: 'k1' }] });
    expect(await rotated.validateAccessToken(access)).to.include({ sub: 'u1' });
    // the refresh token of the old key still rotates, and the new pair is signed with the new key
    const pair = await rotated.updateToken({ sub: 'u1' }, refresh);
    expect(pair).to.be.an('array');
    expect(decodeProtectedHeader(pair![0])).to.include({ kid: 'k2' });
    const removed = service({});
    expect(await removed.validateAccessToken(access)).to.equal(null);
    expect(await removed.validateAccessToken(pair![0])).to.include({ sub: 'u1' });
  });

  it('accepts a previous public key (verification only)', async () => {
    const [access] = await service({ secretKey: oldKey, keyId: 'k1' }).createToken({ sub: 'u1' });
    const pem = createPublicKey(oldKey).export({ type: 'spki', format: 'pem' }).toString();
    expect(await service({ previousKeys: [{ key: pem, kid: 'k1' }] }).validateAccessToken(access)).to.include({ sub: 'u1' });
  });

  it('verifies only with the key the kid names: an unknown kid, a kid naming another of our keys, or a key in the header are refused', async () => {
    const rotated = service({ previousKeys: [{ key: oldKey, kid: 'k1' }] });
    const [access] = await service({ secretKey: oldKey, keyId: 'k1' }).createToken({ sub: 'u1' });
    const [header, payload, signature] = access.split('.');
    const relabel = (h: Record<string, unknown>) => `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), ...h })).toString('base64url')}.${payload}.${signature}`;
    expect(await rotated.validateAccessToken(relabel({ kid: 'k9' }))).to.equal(null);
    expect(await rotated.validateAccessToken(relabel({ kid: 'k2' }))).to.equal(null);
    // an attacker's own key, offered in the header, is never used
    const attacker = makeEdKey();
    const jwk = createPublicKey(attacker).export({ format: 'jwk' });
    const forged = await new SignJWT({ sub: 'admin', token_type: 'access', fid: 'f', jti: 'j' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1', jwk } as never)
      .setIssuedAt().setExpirationTime('5m')
      .sign(createPrivateKey(attacker));
    expect(await rotated.validateAccessToken(forged)).to.equal(null);
  });

  it('verifies tokens without kid (issued before keys had ids) with the current key only', async () => {
    const [legacy] = await service({ secretKey: oldKey, keyId: undefined }).createToken({ sub: 'u1' });
    expect(decodeProtectedHeader(legacy)).to.not.have.property('kid');
    expect(await service({ secretKey: oldKey, keyId: 'k1' }).validateAccessToken(legacy)).to.include({ sub: 'u1' });
    expect(await service({ previousKeys: [{ key: oldKey, kid: 'k1' }] }).validateAccessToken(legacy)).to.equal(null);
  });

  it('validates its options, naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ keyId: '' }, 'keyId'],
      [{ keyId: undefined, previousKeys: [{ key: oldKey, kid: 'k1' }] }, 'keyId'],
      [{ previousKeys: [{ key: oldKey, kid: 'k2' }] }, 'previousKeys[0].kid'],
      [{ previousKeys: [{ key: oldKey, kid: 'k1' }, { key: oldKey, kid: 'k1' }] }, 'previousKeys[1].kid'],
      [{ previousKeys: [{ key: 'short', kid: 'k1' }] }, 'previousKeys[0].key'],
      [{ previousKeys: 'k1' }, 'previousKeys'],
    ];
    for (const [options, option] of cases) {
      expect(() => service(options)).to.throw().that.includes({ code: 'ERR_WT_INVALID_OPTION', option });
    }
  });
});

describe('JWTService.jwks() and jwksHandler()', () => {
  const cache = new InMemoryCache();
  const current = makeEcKey();
  const previous = makeEdKey();
  const jwt = new JWTService(cache, { secretKey: current, keyId: 'k2', previousKeys: [{ key: previous, kid: 'k1' }], issuer: 'https://auth.example.test', audience: 'orders' });
  after(async () => jwt.close());

  it('publishes the public keys only, each with kid, alg and use', async () => {
    const { keys } = await jwt.jwks();
    expect(keys.map((k) => [k.kid, k.alg, k.use, k.kty])).to.deep.equal([['k2', 'ES256', 'sig', 'EC'], ['k1', 'EdDSA', 'sig', 'OKP']]);
    for (const key of keys) expect(key).to.not.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi', 'k');
  });

  it('never publishes an HMAC secret: a service signing with one has an empty set', async () => {
    const hmac = new JWTService(cache, { secretKey: makeSymmetricKey(), keyId: 'h1', previousKeys: [{ key: previous, kid: 'k1' }] });
    try {
      const { keys } = await hmac.jwks();
      expect(keys.map((k) => k.kid)).to.deep.equal(['k1']);
      expect(JSON.stringify(keys)).to.not.include('"k"');
    } finally {
      await hmac.close();
    }
  });

  it('serves the set with Cache-Control on Express', async () => {
    const app = express().get('/.well-known/jwks.json', jwksHandler(jwt, { maxAgeS: 120 }));
    const res = await request(app).get('/.well-known/jwks.json').expect(200).expect('Cache-Control', 'public, max-age=120').expect('Content-Type', /application\/json/);
    expect(res.body).to.deep.equal(await jwt.jwks());
    expect(() => jwksHandler({} as never)).to.throw().with.property('code', 'ERR_WT_INVALID_OPTION');
    expect(() => jwksHandler(jwt, { maxAgeS: -1 })).to.throw().that.includes({ option: 'maxAgeS' });
  });

  it('lets jose and our OIDCBackend verify our access tokens through the served JWKS — and not our refresh tokens', async () => {
    const app = express().get('/.well-known/jwks.json', jwksHandler(jwt));
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    try {
      const [access, refresh] = await jwt.createToken({ sub: 'u1', scope: 'orders:read' });
      const { payload } = await jwtVerify(access, createRemoteJWKSet(new URL(jwksUri)), { issuer: 'https://auth.example.test', audience: 'orders' });
      expect(payload.sub).to.equal('u1');
      const backend = new OIDCBackend({ issuer: 'https://auth.example.test', audience: 'orders', jwksUri, requireAtJwt: true, logger: quietLogger });
      const auth = await backend.authenticate(bearer(access));
      expect(auth).to.include({ identifier: 'u1' });
      expect(auth!.scope).to.deep.equal(['orders:read']);
      expect(await backend.authenticate(bearer(refresh))).to.equal(null);
      // without requireAtJwt too: an explicitly typed refresh token is never an access token
      expect(await new OIDCBackend({ issuer: 'https://auth.example.test', audience: 'orders', jwksUri, logger: quietLogger }).authenticate(bearer(refresh))).to.equal(null);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
