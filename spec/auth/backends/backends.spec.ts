import { expect } from 'chai';
import express, { type Express, type Request, type Response } from 'express';
import request from 'supertest';
import { AnnoSessionBackend } from '../../../src/auth/backends/anno-session-backend';
import type { AuthBackend } from '../../../src/auth/backends/backend';
import { resolveIdentity } from '../../../src/auth/backends/chain';
import { IPBackend } from '../../../src/auth/backends/ip-backend';
import { JWTBackend } from '../../../src/auth/backends/jwt-backend';
import { SessionBackend } from '../../../src/auth/backends/session-backend';
import { JWTService } from '../../../src/auth/jwt-service';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { InvalidOptionError } from '../../../src/errors';
import { makeEdKey } from '../../../src/utils/make-key';
import { cookieOf } from '../../support/app-factory';

const secret = 'k'.repeat(32);

/** An app that answers with what `backend` makes of the request; `?admit=1` plays an admitting limiter. */
function echo(backend: AuthBackend, configure?: (app: Express) => void): Express {
  const app = express();
  configure?.(app);
  app.get('/', async (req: Request, res: Response) => {
    if (req.query.other) res.append('Set-Cookie', 'other=1; Path=/');
    const result = await backend.authenticate(req, res);
    if (req.query.admit) result?.offer?.onAdmitted();
    if (req.query.status) res.status(Number(req.query.status));
    const { offer, ...auth } = result ?? {};
    res.json({ auth: result ? auth : null, offered: offer ? offer.budget : null });
  });
  return app;
}

describe('JWTBackend', () => {
  const cache = new InMemoryCache();
  const jwt = new JWTService(cache, { secretKey: makeEdKey() });
  const app = echo(new JWTBackend(jwt));
  let token: string;
  before(async () => {
    [token] = await jwt.createToken({ sub: 'u1', scope: 'a b', role: 'x' });
  });
  after(async () => {
    await jwt.close();
    await cache.close();
  });

  it('authenticates Bearer tokens, scheme case-insensitive', async () => {
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`]) {
      const { body } = await request(app).get('/').set('Authorization', header).expect(200);
      expect(body.auth).to.deep.include({ identifier: 'u1', scope: ['a', 'b'] });
      expect(body.auth.extra).to.include({ role: 'x' });
      expect(body.auth.extra).to.not.have.any.keys('token_type', 'fid', 'sub', 'scope');
    }
  });

  it('gives null for other schemes, malformed and oversized headers', async () => {
    const headers = ['', 'Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token} extra`, `Bearer ${token}é`, `Bearer ${'a.'.repeat(4000)}`, 'Bearer ....', `Token ${token}`];
    for (const header of headers) {
      const { body } = await request(app).get('/').set('Authorization', header).expect(200);
      expect(body.auth, header.slice(0, 30)).to.equal(null);
    }
  });

  it('gives null when the token service throws', async () => {
    const broken = echo(new JWTBackend({ validateAccessToken: async () => { throw new Error('boom'); } }));
    expect((await request(broken).get('/').set('Authorization', 'Bearer abc').expect(200)).body.auth).to.equal(null);
  });
});

describe('AnnoSessionBackend', () => {
  it('issues a signed HttpOnly, SameSite=Lax, Secure, Path=/ cookie once admitted and counts the first request by IP', async () => {
    const app = echo(new AnnoSessionBackend({ secret }));
    const res = await request(app).get('/?admit=1').expect(200);
    const setCookie = res.headers['set-cookie'][0];
    expect(setCookie).to.match(/^th-session=[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}; Max-Age=1209600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(res.body.auth.identifier).to.match(/^ip:/);
  });

  it('recognises its own cookie on the next request', async () => {
    const app = echo(new AnnoSessionBackend({ secret, secure: false }));
    const first = await request(app).get('/?admit=1');
    const cookie = cookieOf(first.headers['set-cookie']);
    expect(first.headers['set-cookie'][0]).to.not.contain('Secure');
    const second = await request(app).get('/?admit=1').set('Cookie', cookie).expect(200);
    expect(second.body.auth.identifier).to.equal(`s:${cookie.split('=')[1].split('.')[0]}`);
    expect(second.body.offered).to.equal(null);
    expect(second.headers).to.not.have.property('set-cookie');
  });

  it('replaces forged, unsigned, oversized and garbage values and counts by IP', async () => {
    const app = echo(new AnnoSessionBackend({ secret }));
    const other = await request(echo(new AnnoSessionBackend({ secret: 'o'.repeat(32) }))).get('/?admit=1');
    const foreign = cookieOf(other.headers['set-cookie']).split('=')[1];
    for (const value of ['victim-session-id', foreign, `${'a'.repeat(22)}.${'b'.repeat(43)}`, 'x'.repeat(5000), '%%%', '']) {
      const res = await request(app).get('/?admit=1').set('Cookie', `th-session=${value}`).expect(200);
      expect(res.body.auth.identifier, value.slice(0, 20)).to.match(/^ip:/);
      expect(res.headers['set-cookie'][0]).to.match(/^th-session=/);
    }
  });

  it('keeps other Set-Cookie headers and supports a __Host- name and a session factory', async () => {
    let n = 0;
    const app = echo(new AnnoSessionBackend({ secret, sessionName: '__Host-sid', sessionFactory: () => `custom-session-${++n}` }));
    const res = await request(app).get('/?other=1&admit=1').expect(200);
    expect(res.headers['set-cookie']).to.have.length(2);
    expect(res.headers['set-cookie'][0]).to.equal('other=1; Path=/');
    expect(res.headers['set-cookie'][1]).to.match(/^__Host-sid=custom-session-1\./);
    const back = await request(app).get('/').set('Cookie', cookieOf(res.headers['set-cookie'][1])).expect(200);
    expect(back.body.auth.identifier).to.equal('s:custom-session-1');
  });

  it('refuses unsafe or malformed options', () => {
    expect(() => new AnnoSessionBackend({ sessionName: '__Host-x', secure: false, secret })).to.throw(InvalidOptionError, /secure/);
    expect(() => new AnnoSessionBackend({ secret: 'short' })).to.throw(InvalidOptionError, /secret/);
    expect(() => new AnnoSessionBackend({ sessionName: 'bad name', secret })).to.throw(InvalidOptionError, /sessionName/);
    expect(() => new AnnoSessionBackend({ maxAge: 0, secret })).to.throw(InvalidOptionError, /maxAge/);
    expect(() => new AnnoSessionBackend({ sameSite: 'none', secure: false, secret })).to.throw(InvalidOptionError, /sameSite/);
    for (const mintBudget of [{ limit: 0, windowMs: 60_000 }, { limit: 10, windowMs: 10 }, { limit: 1.5, windowMs: 60_000 }, null]) {
      expect(() => new AnnoSessionBackend({ secret, mintBudget: mintBudget as never }), JSON.stringify(mintBudget)).to.throw(InvalidOptionError, /^mintBudget:/);
    }
  });

  it('offers a session without sending it: no cookie unless a limiter admitted the request', async () => {
    const app = echo(new AnnoSessionBackend({ secret }));
    const res = await request(app).get('/').expect(200);
    expect(res.headers).to.not.have.property('set-cookie');
    expect(res.body.offered).to.deep.equal({ limit: 10, windowMs: 14 * 24 * 3600 * 1000 });
  });

  it('sends no cookie on an admitted request whose answer failed (401, 404, 500)', async () => {
    const app = echo(new AnnoSessionBackend({ secret }));
    for (const status of [401, 404, 429, 500, 503]) {
      const res = await request(app).get(`/?admit=1&status=${status}`).expect(status);
      expect(res.headers, String(status)).to.not.have.property('set-cookie');
    }
    expect((await request(app).get('/?admit=1&status=302')).headers['set-cookie']).to.have.length(1);
  });

  it('warns once, as a warning and without an error code, when no secret is given', () => {
    const lines: string[] = [];
    const logger = { warn: (m: string) => lines.push(m) };
    new AnnoSessionBackend({ logger });
    new AnnoSessionBackend({ logger });
    new AnnoSessionBackend({ logger, secret });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\[webtool\] Warning: AnnoSessionBackend has no `secret`/);
    expect(lines[0]).to.not.match(/ERR_WT_/);
  });
});

describe('IPBackend', () => {
  it('uses req.ip and ignores X-Forwarded-For unless Express trusts the proxy', async () => {
    const direct = echo(new IPBackend());
    const res = await request(direct).get('/').set('X-Forwarded-For', '203.0.113.7').expect(200);
    expect(res.body.auth.identifier).to.equal('ip:127.0.0.1');
    const proxied = echo(new IPBackend(), (app) => app.set('trust proxy', 'loopback'));
    const behind = await request(proxied).get('/').set('X-Forwarded-For', '198.51.100.1, 203.0.113.7').expect(200);
    expect(behind.body.auth.identifier).to.equal('ip:203.0.113.7');
    const v6 = await request(proxied).get('/').set('X-Forwarded-For', '2001:db8:1:2ab::9').expect(200);
    expect(v6.body.auth.identifier).to.equal('ip:2001:db8:1:200::/56');
  });
});

describe('SessionBackend', () => {
  const known = new Map([['s:abc.def', { identifier: 'alice', scope: ['read'], extra: { plan: 'pro' } }]]);
  const verify = (value: string) => known.get(value) ?? null;

  it('requires a verify function', () => {
    for (const options of [undefined, {}, { kind: 'user' }, { verify: 'yes' }]) {
      const make = () => new SessionBackend('connect.sid', options as never);
      expect(make, JSON.stringify(options)).to.throw(InvalidOptionError, /^verify: is required/);
      try {
        make();
      } catch (err) {
        expect((err as InvalidOptionError).code).to.equal('ERR_WT_INVALID_OPTION');
        expect((err as InvalidOptionError).option).to.equal('verify');
      }
    }
  });

  it('with kind user, answers what verify answered for a known session, null for unknown values', async () => {
    const app = echo(new SessionBackend('connect.sid', { kind: 'user', verify }));
    const a = await request(app).get('/').set('Cookie', 'connect.sid=s%3Aabc.def').expect(200);
    expect(a.body.auth).to.deep.equal({ identifier: 'alice', scope: ['read'], extra: { plan: 'pro' } });
    for (const value of ['s%3Aabc.xyz', 'made-up', 'x'.repeat(5000)]) {
      expect((await request(app).get('/').set('Cookie', `connect.sid=${value}`).expect(200)).body.auth, value.slice(0, 20)).to.equal(null);
    }
  });

  it('with kind anno, identifies a verified session by a hash of the cookie, null without one', async () => {
    const app = echo(new SessionBackend('connect.sid', { verify }));
    const a = await request(app).get('/').set('Cookie', 'connect.sid=s%3Aabc.def').expect(200);
    expect(a.body.auth.identifier).to.match(/^sess:[A-Za-z0-9_-]{22}$/);
    expect(a.body.auth.identifier).to.not.contain('abc');
    const b = await request(app).get('/').set('Cookie', 'connect.sid=s%3Aabc.def').expect(200);
    expect(b.body.auth.identifier).to.equal(a.body.auth.identifier);
    expect((await request(app).get('/').expect(200)).body.auth).to.equal(null);
  });
});

describe('resolveIdentity', () => {
  it('takes the first backend that recognises the caller and skips one that throws', async () => {
    const throwing: AuthBackend = { kind: 'user', authenticate: () => { throw new Error('bug'); } };
    const none: AuthBackend = { kind: 'user', authenticate: async () => null };
    const warn = console.warn;
    console.warn = () => {};
    try {
      const app = express();
      app.get('/', async (req, res) => res.json(await resolveIdentity([throwing, none, new IPBackend()], req, res)));
      const { body } = await request(app).get('/').expect(200);
      expect(body).to.deep.equal({ kind: 'anno', auth: { identifier: 'ip:127.0.0.1', scope: null, extra: {} } });
    } finally {
      console.warn = warn;
    }
  });
});
