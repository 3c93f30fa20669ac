import { expect } from 'chai';
import type { Request } from 'express';
import { importJWK, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { IssuerUnavailableError } from '../../../src/errors';
import { OIDCBackend } from '../../../src/auth/oidc/oidc-backend';
import { keycloakRoles } from '../../../src/auth/oidc/claims';
import { parseOIDCOptions, type OIDCBackendOptions } from '../../../src/auth/oidc/options';
import { limitMiddleware } from '../../../src/throttle/limit-middleware';
import { limiter } from '../../../src/throttle/limiter';
import { EXPRESS_MAJORS, quietLogger } from '../../support/app-factory';
import { CLIENT, JWT_API, providerKey, startProvider, type TestProvider } from '../../support/oidc-provider';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as Request;

/** A token signed by `key` with any header and claims (to forge what the provider would not issue). */
async function forge(key: JWK, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'forged', iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({ alg: key.alg!, kid: key.kid, typ: 'at+jwt', ...header } as never)
    .sign(await importJWK(key, key.alg));
}

describe('OIDCBackend (against a real oidc-provider on loopback)', () => {
  let k1: JWK;
  let provider: TestProvider;
  const backend = (options: Partial<OIDCBackendOptions> = {}) =>
    new OIDCBackend({ issuer: provider.issuer, audience: JWT_API, logger: quietLogger, ...options });

  before(async () => {
    k1 = await providerKey('k1');
  });
  beforeEach(async () => {
    provider = await startProvider([k1]);
  });
  afterEach(async () => provider.close());

  describe('JWT access tokens', () => {
    it('verifies a token from discovery + JWKS and maps sub, scope and Keycloak roles', async () => {
      const auth = await backend({ roles: keycloakRoles({ clientId: CLIENT.id }) }).authenticate(bearer(await provider.token(JWT_API, 'read write')));
      expect(auth).to.include({ identifier: CLIENT.id });
      expect(auth!.scope).to.deep.equal(['read', 'write']);
      expect(auth!.extra.roles).to.deep.equal(['admin', 'user', 'reader']);
      expect(auth!.extra).to.include({ iss: provider.issuer, aud: JWT_API, client_id: CLIENT.id });
      expect(provider.jwksHits).to.equal(1);
    });

    it('reads scope from an scp array (Entra ID, Okta) when there is no scope claim', async () => {
      const token = await forge(k1, {}, { iss: provider.issuer, aud: JWT_API, scp: ['orders.read', 'orders.write'] });
      expect((await backend().authenticate(bearer(token)))!.scope).to.deep.equal(['orders.read', 'orders.write']);
    });

    it('fetches the keys once for many tokens', async () => {
      const b = backend();
      for (let i = 0; i < 5; i++) expect(await b.authenticate(bearer(await provider.token()))).to.not.equal(null);
      expect(provider.jwksHits).to.equal(1);
    });

    it('refuses an expired token (clockToleranceS 0)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await forge(k1, {}, { iss: provider.issuer, aud: JWT_API, iat: now - 120, exp: now - 1 });
      expect(await backend({ clockToleranceS: 0 }).authenticate(bearer(token))).to.equal(null);
      // the same token within a tolerance of 30 s passes: the option is honoured
      expect(await backend({ clockToleranceS: 30 }).authenticate(bearer(token))).to.not.equal(null);
    });

    it("refuses another issuer's token, a token for another audience, and our kid under a foreign key", async () => {
      const other = await startProvider([await providerKey('k1')]);
      try {
        const b = backend();
        expect(await b.authenticate(bearer(await other.token()))).to.equal(null);
        expect(await backend({ audience: 'https://another-api.test' }).authenticate(bearer(await provider.token()))).to.equal(null);
        const foreign = await providerKey('k1');
        expect(await b.authenticate(bearer(await forge(foreign, {}, { iss: provider.issuer, aud: JWT_API })))).to.equal(null);
      } finally {
        await other.close();
      }
    });

    it('refuses HS256 (with the public JWK as secret) and alg none, and HS* as an option', async () => {
      const b = backend();
      const claims = { iss: provider.issuer, aud: JWT_API, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 };
      const publicJwk = JSON.stringify({ kty: k1.kty, crv: k1.crv, x: k1.x, y: k1.y });
      const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(Buffer.from(publicJwk));
      expect(await b.authenticate(bearer(hs))).to.equal(null);
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      expect(await b.authenticate(bearer(none))).to.equal(null);
      for (const algorithms of [['HS256'], ['none'], []]) {
        expect(() => backend({ algorithms: algorithms as never })).to.throw().with.property('code', 'ERR_WT_INVALID_OPTION');
      }
    });

    it('has the documented defaults', () => {
      const config = parseOIDCOptions({ issuer: 'https://sso.example.test', audience: 'api' });
      expect(config).to.include({
        clockToleranceS: 30, requireAtJwt: false, timeoutMs: 2000, jwksCooldownMs: 30_000, jwksMaxAgeMs: 600_000,
        failureBackoffMs: 1000, onIssuerFailure: 'unavailable',
      });
      expect(config.algorithms).to.not.include.members(['HS256', 'HS384', 'HS512', 'none']);
      const introspection = parseOIDCOptions({ issuer: 'https://sso.example.test', audience: 'api', introspection: { clientId: 'a', clientSecret: 'b' } }).introspection;
      expect(introspection).to.include({ cacheSize: 10_000, cacheMaxTtlMs: 60_000, negativeTtlMs: 10_000, maxConcurrent: 64 });
    });

    it('requires issuer and audience', () => {
      expect(() => new OIDCBackend({ issuer: provider.issuer } as never)).to.throw(/audience/).with.property('code', 'ERR_WT_INVALID_OPTION');
      expect(() => new OIDCBackend({ audience: JWT_API } as never)).to.throw(/issuer/).with.property('code', 'ERR_WT_INVALID_OPTION');
    });

    it('accepts typ at+jwt always, and requires it with requireAtJwt', async () => {
      const plain = await forge(k1, { typ: 'JWT' }, { iss: provider.issuer, aud: JWT_API });
      expect(await backend().authenticate(bearer(plain))).to.not.equal(null);
      expect(await backend({ requireAtJwt: true }).authenticate(bearer(plain))).to.equal(null);
      expect(await backend({ requireAtJwt: true }).authenticate(bearer(await provider.token()))).to.not.equal(null);
    });

    it('keeps two issuers\' equal subjects apart with identifierPrefix (one identity, one rate-limit budget otherwise)', async () => {
      const other = await startProvider([await providerKey('k1')]);
      try {
        const ours = backend({ identifierPrefix: 'a:' });
        const theirs = new OIDCBackend({ issuer: other.issuer, audience: JWT_API, identifierPrefix: 'b:', logger: quietLogger });
        const server = EXPRESS_MAJORS[0].load()();
        server.use(limitMiddleware({ cache: new InMemoryCache(), backends: [ours, theirs], logger: quietLogger }));
        server.get('/me', limiter(1, 60), (req, res) => res.json(req.auth ?? null));
        const a = await request(server).get('/me').set('Authorization', `Bearer ${await provider.token()}`).expect(200);
        const b = await request(server).get('/me').set('Authorization', `Bearer ${await other.token()}`).expect(200);
        expect([a.body.identifier, b.body.identifier]).to.deep.equal(['a:machine', 'b:machine']);
        // a second request of the first issuer's caller is limited: the budgets are separate, not shared
        await request(server).get('/me').set('Authorization', `Bearer ${await provider.token()}`).expect(429);
      } finally {
        await other.close();
      }
    });

    it('builds claims without __proto__ members: no prototype is replaced', async () => {
      const claims = JSON.parse('{"__proto__": {"polluted": true}, "nested": {"__proto__": {"polluted": true}}}');
      const token = await forge(k1, {}, { ...claims, iss: provider.issuer, aud: JWT_API });
      const auth = (await backend().authenticate(bearer(token)))!;
      expect(Object.getPrototypeOf(auth.extra)).to.equal(Object.prototype);
      expect((auth.extra as { polluted?: unknown }).polluted).to.equal(undefined);
      expect((auth.extra.nested as { polluted?: unknown }).polluted).to.equal(undefined);
      expect(Object.keys(auth.extra)).to.not.include('__proto__');
    });
  });

  describe('keys', () => {
    it('picks up a new kid after rotation at the provider; the old kid stays valid until removed', async () => {
      const b = backend({ jwksCooldownMs: 100, jwksMaxAgeMs: 400 });
      const old = await provider.token();
      expect(await b.authenticate(bearer(old))).to.not.equal(null);
      provider.setKeys([await providerKey('k2'), k1]); // k2 signs now, k1 is still published
      const fresh = await provider.token();
      await sleep(120); // past the unknown-kid cooldown
      expect(await b.authenticate(bearer(fresh))).to.include({ identifier: CLIENT.id });
      expect(await b.authenticate(bearer(old))).to.not.equal(null);
      provider.setKeys([(await providerKey('k3'))]); // k1 (and k2) removed
      await sleep(450); // past jwksMaxAgeMs: the key set is read again
      expect(await b.authenticate(bearer(old))).to.equal(null);
    });

    it('refetches the JWKS at most once per cooldown, however many unknown kids arrive', async () => {
      const b = backend(); // default jwksCooldownMs: 30 s
      expect(await b.authenticate(bearer(await provider.token()))).to.not.equal(null);
      const attacker = await providerKey('attacker');
      for (let i = 0; i < 50; i++) {
        const token = await forge({ ...attacker, kid: `random-${i}` }, {}, { iss: provider.issuer, aud: JWT_API });
        expect(await b.authenticate(bearer(token))).to.equal(null);
      }
      expect(provider.jwksHits).to.equal(1);
    });
  });

  describe('an issuer that is down or slow', () => {
    it("answers within timeoutMs: IssuerUnavailableError with 'unavailable' (the default), null with 'unauthorized'", async () => {
      provider.delayMs = Infinity;
      const token = await forge(k1, {}, { iss: provider.issuer, aud: JWT_API });
      let started = Date.now();
      const err = await backend({ timeoutMs: 200 }).authenticate(bearer(token)).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(IssuerUnavailableError).with.property('code', 'ERR_WT_ISSUER_UNAVAILABLE');
      expect(Date.now() - started).to.be.lessThan(1500);
      started = Date.now();
      expect(await backend({ timeoutMs: 200, onIssuerFailure: 'unauthorized' }).authenticate(bearer(token))).to.equal(null);
      expect(Date.now() - started).to.be.lessThan(1500);
    });

    it('does not call a failed issuer again within failureBackoffMs', async () => {
      const b = backend({ timeoutMs: 200, failureBackoffMs: 60_000 });
      const token = await forge(k1, {}, { iss: provider.issuer, aud: JWT_API });
      provider.delayMs = Infinity;
      await b.authenticate(bearer(token)).catch(() => undefined);
      provider.delayMs = 0;
      const requests = provider.requests;
      const err = await b.authenticate(bearer(token)).then(() => null, (e: unknown) => e);
      expect(err).to.have.property('code', 'ERR_WT_ISSUER_UNAVAILABLE');
      expect(provider.requests, 'requests to the issuer during the backoff').to.equal(requests);
    });

    it('refuses a discovery document naming another issuer', async () => {
      const err = await backend({ issuer: `${provider.issuer}/` }).authenticate(bearer(await provider.token())).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(IssuerUnavailableError);
    });
  });

  for (const { name, load } of EXPRESS_MAJORS) {
    describe(`over HTTP on ${name}`, () => {
      function app(options: Partial<OIDCBackendOptions> = {}) {
        const express = load();
        const server = express();
        server.use(limitMiddleware({ cache: new InMemoryCache(), backends: [backend(options)], logger: quietLogger }));
        server.get('/me', (req, res) => {
          if (req.auth) res.json(req.auth);
          else res.status(401).set('WWW-Authenticate', 'Bearer').json({ title: 'Unauthorized' });
        });
        server.use((err: { status?: number; toJSON?: () => unknown }, _req: unknown, res: import('express').Response, _next: unknown) => {
          res.status(err.status ?? 500).json(err.toJSON?.() ?? {});
        });
        return server;
      }

      it('200 with the AuthData for a provider token, 401 for none or a forged one', async () => {
        const server = app();
        const res = await request(server).get('/me').set('Authorization', `Bearer ${await provider.token()}`).expect(200);
        expect(res.body).to.include({ identifier: CLIENT.id });
        expect(res.body.scope).to.deep.equal(['read']);
        await request(server).get('/me').expect(401).expect('WWW-Authenticate', 'Bearer');
        const forged = await forge(await providerKey('k1'), {}, { iss: provider.issuer, aud: JWT_API });
        await request(server).get('/me').set('Authorization', `Bearer ${forged}`).expect(401);
      });

      it("503 problem (no token, no cause in the body) when the issuer hangs, 401 with 'unauthorized'", async () => {
        provider.delayMs = Infinity;
        const token = await forge(k1, {}, { iss: provider.issuer, aud: JWT_API });
        const res = await request(app({ timeoutMs: 200 })).get('/me').set('Authorization', `Bearer ${token}`).expect(503);
        expect(res.body).to.deep.equal({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'ERR_WT_ISSUER_UNAVAILABLE' });
        await request(app({ timeoutMs: 200, onIssuerFailure: 'unauthorized' })).get('/me').set('Authorization', `Bearer ${token}`).expect(401);
      });
    });
  }
});
