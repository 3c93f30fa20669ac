/** @module Attack round 6: the verified-token cache found by a tail number, then a whole-token compare. */
import { expect } from 'chai';
import express from 'express';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey, makeSymmetricKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { pastExpiry, startOfSecond } from '../support/until';

const whoami = (req: Request, res: Response) => res.json({ auth: req.auth?.identifier ?? null, scope: req.auth?.scope ?? null });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unb64 = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString());

/** Same-length forgery: keep the genuine signature, change payload characters in place. */
function forgeSameLength(token: string, edit: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p, s] = token.split('.');
  const forged = b64(edit(unb64(p)));
  expect(forged.length, 'forged payload has the same length').to.equal(p.length);
  return `${h}.${forged}.${s}`;
}

for (const alg of ['EdDSA', 'HS256'] as const) {
  for (const size of [1, 2, 10000]) {
    describe(`attack6: verified-token cache, ${alg}, verifiedTokenCacheSize ${size}`, () => {
      let cache: InMemoryCache;
      let jwt: JWTService;
      let app: Express;
      const send = (t: string) => request(app).get('/w').set('Authorization', `Bearer ${t}`);
      beforeEach(() => {
        cache = new InMemoryCache();
        jwt = new JWTService(cache, { secretKey: alg === 'EdDSA' ? makeEdKey() : makeSymmetricKey({ algorithm: 'HS256' }), verifiedTokenCacheSize: size });
        app = express();
        app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
        app.get('/w', limiter(100000, 60, [], { algorithm: 'gcra' }), whoami);
        app.get('/free', whoami);
      });
      afterEach(async () => {
        await jwt.close();
        await cache.close();
      });

      it('a same-length forged payload (sub alice → alicf) in front of a genuine, remembered signature is refused', async () => {
        const [t] = await jwt.createToken({ sub: 'alice', role: 'user' });
        for (let i = 0; i < 3; i++) expect((await send(t)).body.auth).to.equal('alice');
        const forged = forgeSameLength(t, (p) => ({ ...p, sub: 'alicf' }));
        expect(forged.length).to.equal(t.length);
        expect(forged.slice(-8)).to.equal(t.slice(-8));
        for (let i = 0; i < 3; i++) {
          expect((await send(forged)).body.auth, `forged try ${i}`).to.equal(null);
          expect(await jwt.validateAccessToken(forged)).to.equal(null);
        }
        // and the genuine one still works (a refused collision must not poison the entry)
        expect((await send(t)).body.auth).to.equal('alice');
      });

      it('a forged header (kid/typ edited, same length) before a genuine signature is refused', async () => {
        const [t] = await jwt.createToken({ sub: 'alice' });
        await send(t);
        await send(t);
        const [h, p, s] = t.split('.');
        const hdr = unb64(h);
        // flip one character of alg/typ keeping the same encoded length
        const edited = b64({ ...hdr, typ: hdr.typ === 'at+jwt' ? 'at+jwu' : 'x' });
        const forged = `${edited.slice(0, h.length)}${h.length > edited.length ? h.slice(edited.length) : ''}.${p}.${s}`;
        expect((await send(forged)).body.auth).to.equal(null);
      });

      it('a genuine token with its signature prefix modified (same tail, same length) is refused', async () => {
        const [t] = await jwt.createToken({ sub: 'alice' });
        await send(t);
        await send(t);
        const [h, p, s] = t.split('.');
        for (const k of [0, 1, 5, 10]) {
          const c = s[k] === 'A' ? 'B' : 'A';
          const forged = `${h}.${p}.${s.slice(0, k)}${c}${s.slice(k + 1)}`;
          expect((await send(forged)).body.auth, `sig char ${k}`).to.equal(null);
          expect(await jwt.validateAccessToken(forged)).to.equal(null);
        }
        expect((await send(t)).body.auth).to.equal('alice');
      });

      it('a forged token whose header.payload is another genuine token\'s (same length), with the first\'s signature, is refused', async () => {
        const [ta] = await jwt.createToken({ sub: 'alice' });
        const [tb] = await jwt.createToken({ sub: 'bobby' });
        await send(ta);
        await send(tb);
        const [ha, pa, sa] = ta.split('.');
        const [hb, pb, sb] = tb.split('.');
        expect(`${hb}.${pb}`.length).to.equal(`${ha}.${pa}`.length);
        expect((await send(`${hb}.${pb}.${sa}`)).body.auth).to.equal(null);
        expect((await send(`${ha}.${pa}.${sb}`)).body.auth).to.equal(null);
        expect((await send(ta)).body.auth).to.equal('alice');
        expect((await send(tb)).body.auth).to.equal('bobby');
      });

      it('many users interleaved (cache churn, colliding tail numbers) each get their own identity, forgeries none', async () => {
        const users: [string, string][] = [];
        for (let i = 0; i < 60; i++) users.push([`u${String(i).padStart(3, '0')}`, (await jwt.createToken({ sub: `u${String(i).padStart(3, '0')}` }))[0]]);
        for (let round = 0; round < 3; round++) {
          const order = [...users].sort(() => Math.random() - 0.5);
          const res = await Promise.all(order.map(([, t]) => send(t)));
          res.forEach((r, i) => expect(r.body.auth, `round ${round}`).to.equal(order[i][0]));
          const forged = order.slice(0, 10).map(([, t]) => forgeSameLength(t, (p) => ({ ...p, sub: 'u999' })));
          const fr = await Promise.all(forged.map(send));
          fr.forEach((r) => expect(r.body.auth).to.equal(null));
        }
      });

      it('an expired token is refused even while remembered, and a revoked one too', async () => {
        const short = new JWTService(cache, { secretKey: makeEdKey(), accessTokenExpireTime: 2, verifiedTokenCacheSize: size, keyPrefix: 'short:' });
        const a = express();
        a.use(identify({ backends: [new JWTBackend(short)] }));
        a.get('/w', whoami);
        await startOfSecond(); // the token then lives about 2 s, not possibly only a few ms
        const [t, r] = await short.createToken({ sub: 'exp' });
        expect((await request(a).get('/w').set('Authorization', `Bearer ${t}`)).body.auth).to.equal('exp');
        expect((await request(a).get('/w').set('Authorization', `Bearer ${t}`)).body.auth).to.equal('exp');
        await pastExpiry(t);
        expect((await request(a).get('/w').set('Authorization', `Bearer ${t}`)).body.auth).to.equal(null);
        expect(await short.validateAccessToken(t)).to.equal(null);
        const [t2, r2] = await jwt.createToken({ sub: 'rev' });
        expect((await send(t2)).body.auth).to.equal('rev');
        expect((await send(t2)).body.auth).to.equal('rev');
        await jwt.invalidateToken(r2);
        expect((await send(t2)).body.auth).to.equal(null);
        void r;
        await short.close();
      });
    });
  }
}

describe('attack6: Authorization header forms on the remembered-token path', () => {
  let cache: InMemoryCache;
  let jwt: JWTService;
  let app: Express;
  let t: string;
  before(async () => {
    cache = new InMemoryCache();
    jwt = new JWTService(cache, { secretKey: makeEdKey() });
    [t] = await jwt.createToken({ sub: 'alice' });
    app = express();
    app.use(identify({ backends: [new JWTBackend(jwt)] }));
    app.get('/w', whoami);
  });
  after(async () => {
    await jwt.close();
    await cache.close();
  });
  const as = async (h: string) => (await request(app).get('/w').set('Authorization', h)).body.auth;

  it('strictly valid forms authenticate, cold and warm', async () => {
    for (let i = 0; i < 2; i++) {
      for (const h of [`Bearer ${t}`, `bearer ${t}`, `BEARER ${t}`, `bEaReR ${t}`, `Bearer     ${t}`]) expect(await as(h), h.slice(0, 12)).to.equal('alice');
    }
  });

  it('forms outside RFC 6750 never authenticate, warm or not', async () => {
    await as(`Bearer ${t}`);
    const bad = [
      `Bearer\t${t}`, `Basic ${t}`, `Bearer: ${t}`, `Bearerx ${t}`, `Bear ${t}`, `Token ${t}`, `${t}`, ` ${t}`,
      `Bearer ${t},Bearer ${t}`, `Bearer ${t}, x`, `Bearer x ${t}`, `Bearer x${t}`, `Bearer ${t}x`, `Bearer ${t} x`,
      `Bearer ${t.slice(1)}`, `Bearer ${t}.`, `Bearer .${t}`, `Bearer ${t.slice(0, -1)}`, `B\u00e9arer ${t}`, `Bearer\u00a0${t}`,
      `Bearer ${t.replace('.', ' .')}`, `BearerBearer ${t}`, `xxxxxx ${t}`, `Bearer_${t}`, `Bearer,${t}`,
    ];
    for (const h of bad) {
      for (let i = 0; i < 2; i++) expect(await as(h), JSON.stringify(h.slice(0, 20))).to.equal(null);
    }
  });

  it('a token verified through validateAccessToken in a whitespace spelling is not accepted in that spelling from a header', async () => {
    const [u] = await jwt.createToken({ sub: 'ws' });
    const [h, p, s] = u.split('.');
    const spelled = `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`;
    await jwt.validateAccessToken(spelled); // whatever jose says
    await jwt.validateAccessToken(spelled);
    expect(await as(`Bearer ${spelled}`)).to.equal(null);
  });
});
