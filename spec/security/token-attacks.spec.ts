/**
 * @module Token attacks (RFC 8725) against JWTService on InMemoryCache and RedisJWTService, with an
 * EdDSA and an RS256 key, directly and through the HTTP layer (JWTBackend: a forged token is an
 * anonymous caller, never a 500). Forged tokens are built with jose and node:crypto.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, type JWTPayload } from 'jose';
import { expect } from 'chai';
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { RedisJWTService } from '../../src/auth/redis-jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey, makeRsaKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { deletePrefix, redisUrl, uniquePrefix } from '../support/redis';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'webtool-spec';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

const KEYS = [
  { name: 'EdDSA', alg: 'EdDSA', make: () => makeEdKey() },
  { name: 'RS256', alg: 'RS256', make: () => makeRsaKey() },
];
const SERVICES = [
  { name: 'JWTService on InMemoryCache', redis: false },
  { name: 'RedisJWTService', redis: true },
];

/** An HS256 token signed with `secret` (by hand: jose rightly refuses a public key as an HMAC secret). */
function hs256(header: object, payload: object, secret: Buffer | string): string {
  const input = `${b64({ alg: 'HS256', ...header })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function sign(header: Record<string, unknown>, payload: JWTPayload, key: KeyObject, alg: string): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(key);
}

for (const keyKind of KEYS) {
  for (const serviceKind of SERVICES) {
    describe(`Token attacks (RFC 8725) on ${serviceKind.name} with an ${keyKind.name} key`, function () {
      this.timeout(30_000);
      const prefix = uniquePrefix('attacks');
      let cache: Cache;
      let jwt: JWTService;
      let serviceKey: KeyObject;
      let publicKey: KeyObject;
      let attackerKey: KeyObject;
      let access: string;
      let refresh: string;
      let accessHeader: Record<string, unknown>;
      let accessPayload: JWTPayload;
      let refreshPayload: JWTPayload;
      let jwks: http.Server;
      let jwksHits = 0;
      let app: Express;

      before(async () => {
        const pem = keyKind.make();
        serviceKey = createPrivateKey(pem);
        publicKey = createPublicKey(serviceKey);
        attackerKey = createPrivateKey(keyKind.make());
        cache = serviceKind.redis ? new RedisCache(await redisUrl(), { keyPrefix: prefix, logger: quietLogger }) : new InMemoryCache();
        const options = { secretKey: pem, issuer: ISSUER, audience: AUDIENCE };
        jwt = serviceKind.redis ? new RedisJWTService(cache as RedisCache, options) : new JWTService(cache, options);
        expect(jwt.algorithm).to.equal(keyKind.alg);
        [access, refresh] = await jwt.createToken({ sub: 'victim', scope: 'read' });
        accessHeader = decodeProtectedHeader(access) as Record<string, unknown>;
        accessPayload = decodeJwt(access);
        refreshPayload = decodeJwt(refresh);
        // An attacker's key server: a jku/x5u the service followed would show up here.
        jwks = http.createServer((req, res) => {
          jwksHits++;
          void exportJWK(createPublicKey(attackerKey)).then((jwk) => res.end(JSON.stringify({ keys: [{ ...jwk, kid: 'attacker', alg: keyKind.alg }] })));
        });
        await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
        app = express();
        app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
        app.get('/whoami', limiter(10_000, 60), (req, res) => res.json({ user: req.auth?.identifier ?? null }));
      });

      after(async () => {
        jwks?.close();
        await jwt?.close();
        if (cache instanceof RedisCache) await deletePrefix(cache.client as never, prefix);
        await cache?.close();
      });

      const jku = () => `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
      const future = () => ({ ...accessPayload, iat: now(), exp: now() + 600 });

      /** Every forged access token, by attack. Each must be refused. */
      async function forgeries(): Promise<Record<string, string>> {
        const pubPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
        const pubDer = publicKey.export({ type: 'spki', format: 'der' });
        const jwk = await exportJWK(publicKey);
        const confusion = Object.fromEntries(
          Object.entries({ 'PEM': pubPem, 'PEM without newline': pubPem.trim(), 'DER': pubDer, 'JWK n/x': Buffer.from((jwk.x ?? jwk.n)!, 'base64url') }).map(([how, secret]) => [
            `alg confusion: HS256 keyed with the public key (${how})`,
            hs256({ typ: 'at+jwt' }, future(), secret),
          ]),
        );
        return {
          'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(future())}.`,
          'alg none, signature kept': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(future())}.${access.split('.')[2]}`,
          'alg NONE': `${b64({ alg: 'NONE', typ: 'at+jwt' })}.${b64(future())}.`,
          ...confusion,
          'signed by another key': await sign({ typ: 'at+jwt' }, future(), attackerKey, keyKind.alg),
          'payload swapped under a valid signature': `${access.split('.')[0]}.${b64({ ...accessPayload, sub: 'admin', scope: 'read admin' })}.${access.split('.')[2]}`,
          expired: await sign(accessHeader, { ...accessPayload, iat: now() - 7200, exp: now() - 3600 }, serviceKey, keyKind.alg),
          'not yet valid (nbf in the future)': await sign(accessHeader, { ...future(), nbf: now() + 3600 }, serviceKey, keyKind.alg),
          'wrong iss': await sign(accessHeader, { ...future(), iss: 'https://evil.example' }, serviceKey, keyKind.alg),
          'no iss': await sign(accessHeader, { ...future(), iss: undefined }, serviceKey, keyKind.alg),
          'wrong aud': await sign(accessHeader, { ...future(), aud: 'another-api' }, serviceKey, keyKind.alg),
          'kid/jku/x5u pointing at the attacker key': await sign({ typ: 'at+jwt', kid: 'attacker', jku: jku(), x5u: jku() }, future(), attackerKey, keyKind.alg),
          'embedded jwk of the attacker': await sign({ typ: 'at+jwt', jwk: await exportJWK(createPublicKey(attackerKey)) }, future(), attackerKey, keyKind.alg),
          'refresh token used as access token': refresh,
          'refresh payload re-typed as access in the header only': await sign({ ...accessHeader }, { ...refreshPayload }, serviceKey, keyKind.alg),
        };
      }

      it('accepts its own tokens, and tokens re-signed with its key from their claims (so every refusal below is the attack)', async () => {
        expect(await jwt.validateAccessToken(access)).to.include({ sub: 'victim' });
        expect(await jwt.validateAccessToken(await sign(accessHeader, future(), serviceKey, keyKind.alg))).to.include({ sub: 'victim' });
      });

      it('refuses every forged access token (validateAccessToken → null, never a throw)', async () => {
        const accepted: string[] = [];
        for (const [attack, token] of Object.entries(await forgeries())) {
          if ((await jwt.validateAccessToken(token)) !== null) accepted.push(attack);
        }
        expect(accepted).to.deep.equal([]);
        expect(jwksHits, 'requests to the jku/x5u server').to.equal(0);
      });

      it('ignores kid/jku/x5u on a token signed with its own key: the header never picks the key', async () => {
        const token = await sign({ ...accessHeader, kid: 'attacker', jku: jku(), x5u: jku() }, future(), serviceKey, keyKind.alg);
        expect(await jwt.validateAccessToken(token)).to.include({ sub: 'victim' });
        expect(jwksHits).to.equal(0);
      });

      it('refuses an access token as a refresh token, and forged refresh tokens, for validation and rotation', async () => {
        const forgedRefresh = {
          'access token used as refresh token': access,
          'alg none refresh': `${b64({ alg: 'none', typ: 'rt+jwt' })}.${b64({ ...refreshPayload, exp: now() + 600 })}.`,
          'HS256 refresh keyed with the public key': hs256({ typ: 'rt+jwt' }, { ...refreshPayload, exp: now() + 600 }, publicKey.export({ type: 'spki', format: 'pem' }) as string),
          'refresh signed by another key': await sign({ typ: 'rt+jwt' }, refreshPayload, attackerKey, keyKind.alg),
          'expired refresh': await sign({ typ: 'rt+jwt' }, { ...refreshPayload, exp: now() - 10 }, serviceKey, keyKind.alg),
        };
        for (const [attack, token] of Object.entries(forgedRefresh)) {
          expect(await jwt.validateRefreshToken(token), attack).to.equal(null);
          expect(await jwt.updateToken({ sub: 'victim' }, token), attack).to.equal(null);
        }
        // None of that touched the real session: its refresh token still rotates.
        const [a2, r2] = (await jwt.updateToken({ sub: 'victim', scope: 'read' }, refresh))!;
        expect(await jwt.validateAccessToken(a2)).to.include({ sub: 'victim' });
        [access, refresh] = [a2, r2];
        accessPayload = decodeJwt(access);
        refreshPayload = decodeJwt(refresh);
      });

      it('answers every forged token over HTTP as an anonymous caller (200, never 401-as-user, never 500)', async () => {
        const agent = request(app);
        expect((await agent.get('/whoami').set('Authorization', `Bearer ${access}`).expect(200)).body).to.deep.equal({ user: 'victim' });
        for (const [attack, token] of Object.entries(await forgeries())) {
          const res = await agent.get('/whoami').set('Authorization', `Bearer ${token}`);
          expect(res.status, attack).to.equal(200);
          expect(res.body, attack).to.deep.equal({ user: null });
        }
      });

      it('revokes the whole family on replay of a rotated refresh token, also over HTTP', async () => {
        const [a1, r1] = await jwt.createToken({ sub: 'replayed' });
        const [a2, r2] = (await jwt.updateToken({ sub: 'replayed' }, r1))!;
        const [a3, r3] = (await jwt.updateToken({ sub: 'replayed' }, r2))!;
        expect((await request(app).get('/whoami').set('Authorization', `Bearer ${a3}`)).body).to.deep.equal({ user: 'replayed' });
        expect(await jwt.updateToken({ sub: 'replayed' }, r1)).to.equal(null); // the replay
        for (const t of [a1, a2, a3]) expect(await jwt.validateAccessToken(t)).to.equal(null);
        expect(await jwt.validateRefreshToken(r3)).to.equal(null);
        expect((await request(app).get('/whoami').set('Authorization', `Bearer ${a3}`)).body).to.deep.equal({ user: null });
      });
    });
  }
}
