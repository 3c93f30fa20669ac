/**
 * @module Attack round 10: token verification of a `JWTService` with one key and no `keyId` (jose is
 * handed the key itself) and with `keyId` + `previousKeys` (the key is resolved from `kid`), for every
 * working key kind, directly and through `identify` + `JWTBackend` (refused → anonymous, never a 500).
 * Forgeries are built by hand with node:crypto; "own-key" tokens simulate a claims/header bug on the
 * signing side and must still be refused by verification.
 */
import { createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { expect } from 'chai';
import { identify, InMemoryCache, JWTBackend, JWTService, makeEcKey, makeEdKey, makeRsaKey, makeSymmetricKey } from '../../src';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'r10';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

interface Kind {
  name: string;
  alg: string;
  make: () => { secretKey: string | KeyObject; password?: string };
  /** The signing key as a KeyObject. */
  priv: (made: { secretKey: string | KeyObject; password?: string }) => KeyObject;
  /** Another key of the same kind (attacker's). */
  other: () => KeyObject;
}

const asym = (pem: { secretKey: string | KeyObject; password?: string }) =>
  pem.secretKey instanceof Object && !(typeof pem.secretKey === 'string') ? (pem.secretKey as KeyObject) : createPrivateKey({ key: pem.secretKey as string, passphrase: pem.password });

const KINDS: Kind[] = [
  { name: 'Ed25519 encrypted PEM', alg: 'EdDSA', make: () => ({ secretKey: makeEdKey({ password: 'pw' }), password: 'pw' }), priv: asym, other: () => createPrivateKey(makeEdKey()) },
  { name: 'ES256 KeyObject', alg: 'ES256', make: () => ({ secretKey: createPrivateKey(makeEcKey({ algorithm: 'ES256' })) }), priv: asym, other: () => createPrivateKey(makeEcKey({ algorithm: 'ES256' })) },
  { name: 'ES384 PEM', alg: 'ES384', make: () => ({ secretKey: makeEcKey({ algorithm: 'ES384' }) }), priv: asym, other: () => createPrivateKey(makeEcKey({ algorithm: 'ES384' })) },
  { name: 'ES512 PEM', alg: 'ES512', make: () => ({ secretKey: makeEcKey({ algorithm: 'ES512' }) }), priv: asym, other: () => createPrivateKey(makeEcKey({ algorithm: 'ES512' })) },
  { name: 'RS256 PEM', alg: 'RS256', make: () => ({ secretKey: makeRsaKey() }), priv: asym, other: () => createPrivateKey(makeRsaKey()) },
  { name: 'HS256 secret', alg: 'HS256', make: () => ({ secretKey: makeSymmetricKey() }), priv: (m) => createSecretKey(Buffer.from(m.secretKey as string)), other: () => createSecretKey(Buffer.from(makeSymmetricKey())) },
  { name: 'HS512 secret', alg: 'HS512', make: () => ({ secretKey: makeSymmetricKey({ algorithm: 'HS512' }) }), priv: (m) => createSecretKey(Buffer.from(m.secretKey as string)), other: () => createSecretKey(Buffer.from(makeSymmetricKey({ algorithm: 'HS512' }))) },
];

const HASH: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** Signs `header.payload` by hand with whatever key and label (jose refuses most of these). */
function rawSign(header: Record<string, unknown>, payload: unknown, key: KeyObject, how: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  let sig: Buffer;
  if (how.startsWith('HS')) sig = createHmac(HASH[how.slice(2)], key.export()).update(input).digest();
  else if (how === 'EdDSA') sig = cryptoSign(null, Buffer.from(input), key);
  else if (how.startsWith('ES')) sig = cryptoSign(HASH[how.slice(2)], Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (how.startsWith('PS')) sig = cryptoSign(HASH[how.slice(2)], Buffer.from(input), { key, padding: 6, saltLength: Number(how.slice(2)) / 8 });
  else sig = cryptoSign(HASH[how.slice(2)], Buffer.from(input), key);
  return `${input}.${sig.toString('base64url')}`;
}
function hmacWith(header: Record<string, unknown>, payload: unknown, secret: Buffer | string, alg = 'HS256'): string {
  const input = `${b64({ ...header, alg })}.${b64(payload)}`;
  return `${input}.${createHmac(HASH[alg.slice(2)], secret).update(input).digest('base64url')}`;
}

for (const kind of KINDS) {
  for (const withKid of [false, true]) {
    describe(`Attack r10: verification, ${kind.name}, ${withKid ? 'keyId + previousKeys (kid resolves the key)' : 'one key, no keyId (key handed to jose)'}`, function () {
      this.timeout(60_000);
      let service: JWTService;
      let own: KeyObject;
      let prev: KeyObject;
      let attacker: KeyObject;
      let access: string;
      let refresh: string;
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      let app: Express;
      const KID = 'cur';
      const PREV = 'old';

      before(async () => {
        const made = kind.make();
        own = kind.priv(made);
        prev = kind.other();
        attacker = kind.other();
        service = new JWTService(new InMemoryCache(), {
          ...made,
          issuer: ISSUER,
          audience: AUDIENCE,
          ...(withKid ? { keyId: KID, previousKeys: [{ key: prev.type === 'secret' ? prev.export() : prev, kid: PREV }] } : {}),
        });
        expect(service.algorithm).to.equal(kind.alg);
        [access, refresh] = await service.createToken({ sub: 'victim', scope: 'read' });
        header = decodeProtectedHeader(access) as Record<string, unknown>;
        claims = decodeJwt(access) as Record<string, unknown>;
        app = express();
        app.use(identify({ backends: [new JWTBackend(service)] }));
        app.get('/whoami', (req, res) => res.json({ user: req.auth?.identifier ?? null }));
      });
      after(() => service.close());

      const fresh = () => ({ ...claims, jti: `j${Math.random()}`, iat: now(), exp: now() + 600 });
      const ownSigned = (h: Record<string, unknown>, p: unknown) => rawSign({ ...header, ...h }, p, own, kind.alg);

      function forgeries(): Record<string, string> {
        const p = fresh();
        const f: Record<string, string> = {
          'alg none, empty sig': `${b64({ ...header, alg: 'none' })}.${b64(p)}.`,
          'alg NONE, sig kept': `${b64({ ...header, alg: 'NONE' })}.${b64(p)}.${access.split('.')[2]}`,
          'alg None, no sig segment': `${b64({ ...header, alg: 'None' })}.${b64(p)}`,
          'attacker key, same alg': rawSign(header, p, attacker, kind.alg),
          'attacker key + embedded jwk': rawSign({ ...header, jwk: attacker.type === 'secret' ? { kty: 'oct', k: attacker.export().toString('base64url') } : createPublicKey(attacker).export({ format: 'jwk' }) }, p, attacker, kind.alg),
          'attacker key + jku/x5u/x5c': rawSign({ ...header, jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/x', x5c: ['MIIB'] }, p, attacker, kind.alg),
          'payload swapped under a valid signature': `${access.split('.')[0]}.${b64({ ...claims, sub: 'admin' })}.${access.split('.')[2]}`,
          'crit unknown, own key': ownSigned({ crit: ['x-unknown'], 'x-unknown': 1 }, p),
          'b64 false, own key': ownSigned({ crit: ['b64'], b64: false }, p),
        };
        for (const kid of ['../../../etc/passwd', "' OR 1=1 --", '__proto__', 'constructor', 'toString', KID, PREV, 'k'.repeat(4000)]) {
          f[`attacker key, kid ${kid.slice(0, 20)}`] = rawSign({ ...header, kid }, p, attacker, kind.alg);
        }
        if (kind.alg.startsWith('HS')) {
          for (const a of ['HS256', 'HS384', 'HS512'].filter((a) => a !== kind.alg)) f[`own secret, alg ${a}`] = ownSigned({ alg: a }, p);
        } else {
          const pub = createPublicKey(own);
          const bytes: Record<string, Buffer | string> = {
            'spki PEM': pub.export({ format: 'pem', type: 'spki' }) as string,
            'spki PEM trimmed': (pub.export({ format: 'pem', type: 'spki' }) as string).trim(),
            'spki DER': pub.export({ format: 'der', type: 'spki' }),
            'JWK JSON': JSON.stringify(pub.export({ format: 'jwk' })),
          };
          if (kind.alg.startsWith('RS')) bytes['pkcs1 PEM'] = pub.export({ format: 'pem', type: 'pkcs1' }) as string;
          for (const [n, secret] of Object.entries(bytes)) {
            for (const a of ['HS256', 'HS384', 'HS512']) f[`${a} with public ${n}`] = hmacWith(header, p, secret, a);
          }
          if (kind.alg === 'EdDSA') {
            f['own key, alg Ed25519'] = ownSigned({ alg: 'Ed25519' }, p);
            f['own key, alg eddsa'] = ownSigned({ alg: 'eddsa' }, p);
            f['Ed448 key, alg EdDSA'] = rawSign(header, p, generateKeyPairSync('ed448').privateKey, 'EdDSA');
          }
          if (kind.alg.startsWith('RS')) {
            f['own key, PS256'] = rawSign({ ...header, alg: 'PS256' }, p, own, 'PS256');
            f['own key, RS512 label'] = rawSign({ ...header, alg: 'RS512' }, p, own, 'RS512');
            f['own key, rs256 lowercase'] = rawSign({ ...header, alg: 'rs256' }, p, own, 'RS256');
          }
          if (kind.alg.startsWith('ES')) {
            for (const curve of ['prime256v1', 'secp384r1', 'secp521r1']) {
              f[`${curve} key labelled ${kind.alg}`] = rawSign(header, p, generateKeyPairSync('ec', { namedCurve: curve }).privateKey, kind.alg);
            }
            f['own key, DER signature'] = (() => {
              const input = `${b64(header)}.${b64(p)}`;
              return `${input}.${cryptoSign(HASH[kind.alg.slice(2)], Buffer.from(input), own).toString('base64url')}`;
            })();
          }
        }
        if (withKid) {
          f['own (current) key, kid of the previous key'] = ownSigned({ kid: PREV }, p);
          f['previous key, kid of the current key'] = rawSign({ ...header, kid: KID }, p, prev, kind.alg);
          f['previous key, no kid'] = rawSign(Object.fromEntries(Object.entries(header).filter(([k]) => k !== 'kid')), p, prev, kind.alg);
          for (const kid of ['__proto__', 'k'.repeat(4000), '', 'CUR', 'cur ']) f[`own key, unknown kid ${kid.slice(0, 10)}`] = ownSigned({ kid }, p);
          f['own key, kid a number'] = ownSigned({ kid: 1 }, p);
          f['own key, kid null'] = ownSigned({ kid: null }, p);
          f['own key, kid array'] = ownSigned({ kid: [KID] }, p);
        }
        // Claims and header anomalies signed with the service's own key.
        const drop = (k: string) => Object.fromEntries(Object.entries(p).filter(([n]) => n !== k));
        for (const k of ['sub', 'jti', 'iat', 'exp', 'fid', 'token_type']) f[`own key, no ${k}`] = ownSigned({}, drop(k));
        Object.assign(f, {
          'own key, exp string': ownSigned({}, { ...p, exp: String(now() + 600) }),
          'own key, exp past': ownSigned({}, { ...p, exp: now() - 120 }),
          'own key, nbf future': ownSigned({}, { ...p, nbf: now() + 3600 }),
          'own key, iat string': ownSigned({}, { ...p, iat: String(now()) }),
          'own key, sub number': ownSigned({}, { ...p, sub: 42 }),
          'own key, sub array': ownSigned({}, { ...p, sub: ['victim'] }),
          'own key, fid number': ownSigned({}, { ...p, fid: 1 }),
          'own key, wrong iss': ownSigned({}, { ...p, iss: 'https://evil.example' }),
          'own key, no iss': ownSigned({}, drop('iss')),
          'own key, wrong aud': ownSigned({}, { ...p, aud: 'other' }),
          'own key, no aud': ownSigned({}, drop('aud')),
          'own key, typ rt+jwt': ownSigned({ typ: 'rt+jwt' }, p),
          'own key, no typ': ownSigned({ typ: undefined }, p),
          'own key, typ JWT': ownSigned({ typ: 'JWT' }, p),
          'own key, token_type refresh': ownSigned({}, { ...p, token_type: 'refresh' }),
          'own key, token_type ACCESS': ownSigned({}, { ...p, token_type: 'ACCESS' }),
          'refresh token as access': refresh,
        });
        return f;
      }

      it('accepts its own access token (so each refusal below is the attack), also over HTTP', async () => {
        expect(await service.validateAccessToken(access)).to.include({ sub: 'victim' });
        expect(await service.validateAccessToken(ownSigned({}, fresh()))).to.include({ sub: 'victim' });
        expect((await request(app).get('/whoami').set('Authorization', `Bearer ${access}`).expect(200)).body).to.deep.equal({ user: 'victim' });
      });

      it('refuses every forgery and anomaly: validateAccessToken → null, HTTP → anonymous 200', async () => {
        const accepted: string[] = [];
        const errors: string[] = [];
        for (const [attack, token] of Object.entries(forgeries())) {
          if ((await service.validateAccessToken(token)) !== null) accepted.push(attack);
          const res = await request(app).get('/whoami').set('Authorization', `Bearer ${token}`);
          if (res.status !== 200) errors.push(`${attack}: ${res.status}`);
          else if (res.body.user !== null) accepted.push(`${attack} (HTTP)`);
        }
        expect(accepted, 'accepted').to.deep.equal([]);
        expect(errors, 'non-200').to.deep.equal([]);
      });

      it('refuses an access token and the forgeries as refresh tokens', async () => {
        const accepted: string[] = [];
        const { 'refresh token as access': _refresh, ...forged } = forgeries();
        for (const [attack, token] of Object.entries({ access, ...forged })) {
          if ((await service.validateRefreshToken(token)) !== null) accepted.push(attack);
          if ((await service.updateToken(token)) !== null) accepted.push(`${attack} (update)`);
        }
        expect(accepted).to.deep.equal([]);
        expect(await service.validateRefreshToken(refresh)).to.include({ sub: 'victim' });
      });

      it(withKid ? 'verifies a previous key\'s token by its kid' : 'ignores kid on a token signed with its own key', async () => {
        if (withKid) {
          expect(await service.validateAccessToken(rawSign({ ...header, kid: PREV }, fresh(), prev, kind.alg))).to.include({ sub: 'victim' });
        } else {
          for (const kid of ['../x', '__proto__', 'k'.repeat(4000)]) expect(await service.validateAccessToken(ownSigned({ kid }, fresh())), kid.slice(0, 9)).to.include({ sub: 'victim' });
        }
      });
    });
  }
}
