import { expect } from 'chai';
import type { Request } from 'express';
import type { JWK } from 'jose';
import { IssuerUnavailableError } from '../../../src/errors';
import { OIDCBackend } from '../../../src/auth/oidc/oidc-backend';
import { keycloakRoles } from '../../../src/auth/oidc/claims';
import type { IntrospectionOptions, OIDCBackendOptions } from '../../../src/auth/oidc/options';
import { quietLogger } from '../../support/app-factory';
import { CLIENT, OPAQUE_API, RS_CLIENT, providerKey, startProvider, type TestProvider } from '../../support/oidc-provider';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as Request;

describe('OIDCBackend introspection (RFC 7662, real oidc-provider)', () => {
  let k1: JWK;
  let provider: TestProvider;
  const backend = (introspection: Partial<IntrospectionOptions> = {}, options: Partial<OIDCBackendOptions> = {}) =>
    new OIDCBackend({
      issuer: provider.issuer,
      audience: OPAQUE_API,
      logger: quietLogger,
      introspection: { clientId: RS_CLIENT.id, clientSecret: RS_CLIENT.secret, ...introspection },
      ...options,
    });

  before(async () => {
    k1 = await providerKey('k1');
  });
  beforeEach(async () => {
    provider = await startProvider([k1]);
  });
  afterEach(async () => provider.close());

  it('authenticates an opaque token (client_id when the answer has no sub) with scope and roles', async () => {
    const token = await provider.token(OPAQUE_API, 'read write');
    expect(token).to.not.include('.');
    const auth = await backend({}, { roles: keycloakRoles() }).authenticate(bearer(token));
    expect(auth).to.include({ identifier: CLIENT.id });
    expect(auth!.scope).to.deep.equal(['read', 'write']);
    expect(auth!.extra.roles).to.deep.equal(['admin', 'user']);
    expect(auth!.extra).to.not.have.any.keys('active', 'token_type');
  });

  it('treats a 400 for one token as that token refused, not as an issuer outage: other callers are still served', async () => {
    const b = backend();
    provider.failNextIntrospection = 400;
    expect(await b.authenticate(bearer('made-up-opaque-token'))).to.equal(null);
    const token = await provider.token(OPAQUE_API);
    expect(await b.authenticate(bearer(token))).to.include({ identifier: CLIENT.id }); // no backoff tripped
    expect(await b.authenticate(bearer('made-up-opaque-token'))).to.equal(null); // refused from the cache
    expect(provider.introspectionHits).to.equal(2);
  });

  it('asks the issuer once for a token used on many requests', async () => {
    const b = backend();
    const token = await provider.token(OPAQUE_API);
    for (let i = 0; i < 10; i++) expect(await b.authenticate(bearer(token))).to.not.equal(null);
    expect(provider.introspectionHits).to.equal(1);
  });

  it('gives each request its own AuthData: changing one does not change the cached answer', async () => {
    const b = backend();
    const token = await provider.token(OPAQUE_API);
    const first = (await b.authenticate(bearer(token)))!;
    first.scope!.push('admin');
    first.extra.tampered = true;
    const second = (await b.authenticate(bearer(token)))!;
    expect(second.scope).to.deep.equal(['read']);
    expect(second.extra).to.not.have.property('tampered');
  });

  it('shares one call among concurrent requests with the same token', async () => {
    const b = backend();
    const token = await provider.token(OPAQUE_API);
    const answers = await Promise.all(Array.from({ length: 10 }, () => b.authenticate(bearer(token))));
    expect(answers.every((a) => a?.identifier === CLIENT.id)).to.equal(true);
    expect(provider.introspectionHits).to.equal(1);
  });

  it("keeps an answer no longer than the token's exp, even under a longer cacheMaxTtlMs", async () => {
    const shortLived = await startProvider([k1], { accessTokenTtlS: 3 });
    try {
      const b = new OIDCBackend({
        issuer: shortLived.issuer,
        audience: OPAQUE_API,
        logger: quietLogger,
        introspection: { clientId: RS_CLIENT.id, clientSecret: RS_CLIENT.secret, cacheMaxTtlMs: 60_000 },
      });
      const token = await shortLived.token(OPAQUE_API); // expires within 3 s
      expect(await b.authenticate(bearer(token))).to.not.equal(null);
      await sleep(3100);
      expect(await b.authenticate(bearer(token))).to.equal(null);
      expect(shortLived.introspectionHits).to.equal(2);
    } finally {
      await shortLived.close();
    }
  });

  it('keeps an answer no longer than cacheMaxTtlMs', async () => {
    const b = backend({ cacheMaxTtlMs: 100 });
    const token = await provider.token(OPAQUE_API);
    await b.authenticate(bearer(token));
    await sleep(150);
    expect(await b.authenticate(bearer(token))).to.not.equal(null);
    expect(provider.introspectionHits).to.equal(2);
  });

  it('refuses unknown tokens, remembers the refusal, and holds at most cacheSize of each kind', async () => {
    const b = backend({ cacheSize: 5 });
    const token = await provider.token(OPAQUE_API);
    expect(await b.authenticate(bearer(token))).to.not.equal(null);
    for (let i = 0; i < 20; i++) expect(await b.authenticate(bearer(`made-up-token-${i}`))).to.equal(null);
    expect(provider.introspectionHits).to.equal(21);
    expect(await b.authenticate(bearer('made-up-token-19'))).to.equal(null);
    // made-up tokens neither evict the real one nor grow the cache past its bound
    expect(await b.authenticate(bearer(token))).to.not.equal(null);
    expect(provider.introspectionHits).to.equal(21);
    expect((b as unknown as { introspector: { size: number } }).introspector.size).to.equal(6);
  });

  it('keeps at most maxConcurrent calls in flight: the others fail at once, cached tokens still pass', async () => {
    const b = backend({ maxConcurrent: 2 });
    const known = await provider.token(OPAQUE_API);
    expect(await b.authenticate(bearer(known))).to.not.equal(null);
    provider.delayMs = 300;
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => b.authenticate(bearer(`made-up-${i}`)).then(() => 'answered', (e: { code?: string }) => e.code)),
    );
    expect(answers.filter((a) => a === 'answered')).to.have.length(2);
    expect(answers.filter((a) => a !== 'answered')).to.deep.equal(Array(4).fill('ERR_WT_ISSUER_UNAVAILABLE'));
    expect(provider.introspectionHits).to.equal(3);
    expect(await b.authenticate(bearer(known))).to.not.equal(null);
  });

  it('refuses an active token issued for another audience', async () => {
    const token = await provider.token(OPAQUE_API);
    expect(await backend({}, { audience: 'https://another-api.test' }).authenticate(bearer(token))).to.equal(null);
  });

  it('treats refused credentials (401 from the endpoint) as an issuer failure, not as a bad token', async () => {
    const err = await backend({ clientSecret: 'wrong' }).authenticate(bearer(await provider.token(OPAQUE_API))).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(IssuerUnavailableError).with.property('code', 'ERR_WT_ISSUER_UNAVAILABLE');
  });

  it("answers within timeoutMs when the issuer hangs: 503 error by default, null with 'unauthorized'", async () => {
    const token = await provider.token(OPAQUE_API);
    const b = backend({}, { timeoutMs: 200 });
    const c = backend({}, { timeoutMs: 200, onIssuerFailure: 'unauthorized' });
    provider.delayMs = Infinity;
    const started = Date.now();
    const err = await b.authenticate(bearer(token)).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(IssuerUnavailableError).with.property('status', 503);
    expect(await c.authenticate(bearer(token))).to.equal(null);
    expect(Date.now() - started).to.be.lessThan(2000);
  });

  it('validates its options, naming the option', () => {
    for (const [introspection, option] of [
      [{ clientId: '' }, 'introspection.clientId'],
      [{ clientSecret: 5 }, 'introspection.clientSecret'],
      [{ cacheSize: 0 }, 'introspection.cacheSize'],
      [{ maxConcurrent: 1.5 }, 'introspection.maxConcurrent'],
      [{ cacheMaxTtlMs: -1 }, 'introspection.cacheMaxTtlMs'],
      [{ endpoint: 'ftp://x' }, 'introspection.endpoint'],
    ] as const) {
      expect(() => backend(introspection as never)).to.throw().that.includes({ code: 'ERR_WT_INVALID_OPTION', option });
    }
  });
});
