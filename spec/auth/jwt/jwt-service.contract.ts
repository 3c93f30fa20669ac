/** @module The behaviour JWTService and RedisJWTService share, run against each. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { IsString, Length } from 'class-validator';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import type { JWTService } from '../../../src/auth/jwt-service';
import type { JWTServiceOptions } from '../../../src/auth/jwt/options';
import { InvalidClaimsError, InvalidOptionError } from '../../../src/errors';
import { makeEdKey, makeRsaKey } from '../../../src/utils/make-key';
import { pastExpiry, startOfSecond } from '../../support/until';

export type ServiceFactory = (options: JWTServiceOptions<any>) => Promise<JWTService<any>>;


class UserClaims {
  @IsString()
  @Length(1, 20)
  sub!: string;

  @IsString()
  role!: string;
}

/** Runs the shared suite; the factory builds a service over a fresh, isolated store. */
export function jwtServiceContract(name: string, factory: ServiceFactory): void {
  describe(`${name} (JWT service contract)`, () => {
    const edKey = makeEdKey();
    const services: JWTService<any>[] = [];
    const make = async (options: Partial<JWTServiceOptions<any>> = {}) => {
      const service = await factory({ secretKey: edKey, ...options });
      services.push(service);
      return service;
    };
    afterEach(async () => {
      await Promise.all(services.splice(0).map((s) => s.close()));
    });

    it('runs the seed example: after update the old access token is null, the new one valid', async () => {
      const jwt = await make();
      const [access, refresh] = await jwt.createToken({ sub: '123' });
      const [newAccess, newRefresh] = (await jwt.updateToken({ sub: '123' }, refresh))!;
      expect(await jwt.validateAccessToken(access)).to.equal(null);
      const payload = await jwt.validateAccessToken(newAccess);
      expect(payload).to.include({ sub: '123', token_type: 'access' });
      expect(payload).to.have.keys('sub', 'iat', 'exp', 'jti', 'fid', 'fgen', 'token_type');
      expect(await jwt.validateRefreshToken(refresh)).to.equal(null);
      expect(newRefresh).to.be.a('string');
    });

    it('issues tokens with exp, iat, jti, the key algorithm and distinct types', async () => {
      const jwt = await make({ accessTokenExpireTime: 60, refreshTokenExpireTime: 600 });
      const [access, refresh] = await jwt.createToken({ sub: 'u1', role: 'admin', exp: 1, jti: 'mine' });
      const a = decodeJwt(access);
      const r = decodeJwt(refresh);
      expect(a.exp! - a.iat!).to.equal(60);
      expect(r.exp! - r.iat!).to.equal(600);
      expect(a.jti).to.not.equal('mine');
      expect(a.jti).to.not.equal(r.jti);
      expect(a.role).to.equal('admin');
      expect(decodeProtectedHeader(access)).to.deep.equal({ alg: 'EdDSA', typ: 'at+jwt' });
      expect(decodeProtectedHeader(refresh).typ).to.equal('rt+jwt');
      expect(jwt.algorithm).to.equal('EdDSA');
    });

    it('accepts each token only as its own kind', async () => {
      const jwt = await make();
      const [access, refresh] = await jwt.createToken({ sub: 'u1' });
      expect(await jwt.validateAccessToken(refresh)).to.equal(null);
      expect(await jwt.validateRefreshToken(access)).to.equal(null);
      expect(await jwt.updateToken({ sub: 'u1' }, access)).to.equal(null);
      expect(await jwt.validateRefreshToken(refresh)).to.include({ sub: 'u1', token_type: 'refresh' });
    });

    it('gives null, never throws, for garbage, tampered, foreign and unsigned tokens', async () => {
      const jwt = await make();
      const [access, refresh] = await jwt.createToken({ sub: 'u1' });
      const [h, p, s] = access.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(access), sub: 'admin' })).toString('base64url')}.${s}`;
      const foreign = await (await make({ secretKey: makeEdKey() })).createToken({ sub: 'u1' });
      const none = new UnsecuredJWT({ sub: 'u1', token_type: 'access', fid: 'x', jti: 'y' }).setIssuedAt().setExpirationTime('1h').encode();
      const inputs: unknown[] = ['', 'garbage', 'a.b.c', '...', `${h}.${p}`, tampered, foreign[0], none, 'x'.repeat(100_000), null, 42, {}];
      for (const input of inputs) {
        expect(await jwt.validateAccessToken(input as string), String(input).slice(0, 40)).to.equal(null);
        expect(await jwt.validateRefreshToken(input as string)).to.equal(null);
        expect(await jwt.updateToken({ sub: 'u1' }, input as string)).to.equal(null);
        expect(await jwt.invalidateToken(input as string)).to.equal(false);
      }
      expect(await jwt.validateRefreshToken(foreign[1])).to.equal(null);
      expect(await jwt.validateRefreshToken(refresh)).to.not.equal(null);
    });

    it('refuses HS256 tokens signed with the public key of an EdDSA or RSA service (algorithm confusion)', async () => {
      for (const secretKey of [edKey, makeRsaKey()]) {
        const jwt = await make({ secretKey });
        const [access] = await jwt.createToken({ sub: 'u1' });
        const claims = decodeJwt(access);
        const publicPem = createPublicKey(secretKey).export({ type: 'spki', format: 'pem' }) as string;
        const forged = await new SignJWT({ ...claims, sub: 'admin' })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .sign(new TextEncoder().encode(publicPem));
        expect(await jwt.validateAccessToken(forged)).to.equal(null);
      }
    });

    it('ignores kid/jku/x5u headers pointing at an attacker key', async () => {
      const jwt = await make();
      const [access] = await jwt.createToken({ sub: 'u1' });
      const attacker = generateKeyPairSync('ed25519');
      const forged = await new SignJWT({ ...decodeJwt(access), sub: 'admin' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'attacker', jku: 'http://127.0.0.1/jwks.json', x5u: 'http://127.0.0.1/x.pem' })
        .sign(attacker.privateKey);
      expect(await jwt.validateAccessToken(forged)).to.equal(null);
    });

    it('gives null for expired tokens, wrong issuer and wrong audience', async () => {
      const jwt = await make({ accessTokenExpireTime: 2, issuer: 'https://issuer.test', audience: 'api' });
      await startOfSecond(); // the token then lives about 2 s, not possibly only a few ms
      const [access] = await jwt.createToken({ sub: 'u1' });
      expect(await jwt.validateAccessToken(access)).to.not.equal(null);
      const otherIss = await make({ issuer: 'https://other.test', audience: 'api' });
      const otherAud = await make({ issuer: 'https://issuer.test', audience: 'web' });
      expect(await otherIss.validateAccessToken(access)).to.equal(null);
      expect(await otherAud.validateAccessToken(access)).to.equal(null);
      await pastExpiry(access);
      expect(await jwt.validateAccessToken(access)).to.equal(null);
    }).timeout(10_000);

    it('invalidateToken ends the session: old refresh and its access token are null', async () => {
      const jwt = await make();
      const [access, refresh] = await jwt.createToken({ sub: 'u2' });
      expect(await jwt.validateAccessToken(access)).to.not.equal(null); // now remembered as verified
      expect(await jwt.invalidateToken(refresh)).to.equal(true);
      expect(await jwt.validateAccessToken(access)).to.equal(null);
      expect(await jwt.validateRefreshToken(refresh)).to.equal(null);
      expect(await jwt.invalidateToken(refresh)).to.equal(false);
      expect(await jwt.updateToken({ sub: 'u2' }, refresh)).to.equal(null);
    });

    it('detects reuse of a rotated refresh token and revokes the whole family', async () => {
      const jwt = await make();
      const [, r1] = await jwt.createToken({ sub: 'u3' });
      const [a2, r2] = (await jwt.updateToken({ sub: 'u3' }, r1))!;
      const [a3, r3] = (await jwt.updateToken({ sub: 'u3' }, r2))!;
      const [otherAccess, otherRefresh] = await jwt.createToken({ sub: 'u3' }); // another login survives
      expect(await jwt.validateAccessToken(a3)).to.not.equal(null);
      expect(await jwt.updateToken({ sub: 'u3' }, r1)).to.equal(null); // replay
      expect(await jwt.validateAccessToken(a2)).to.equal(null);
      expect(await jwt.validateAccessToken(a3)).to.equal(null);
      expect(await jwt.validateRefreshToken(r3)).to.equal(null);
      expect(await jwt.updateToken({ sub: 'u3' }, r3)).to.equal(null);
      expect(await jwt.validateAccessToken(otherAccess)).to.not.equal(null);
      expect(await jwt.validateRefreshToken(otherRefresh)).to.not.equal(null);
    });

    it('revokes the family when a rotated token is presented to validateRefreshToken', async () => {
      const jwt = await make();
      const [, r1] = await jwt.createToken({ sub: 'u4' });
      const [a2, r2] = (await jwt.updateToken({ sub: 'u4' }, r1))!;
      expect(await jwt.validateRefreshToken(r1)).to.equal(null);
      expect(await jwt.validateAccessToken(a2)).to.equal(null);
      expect(await jwt.validateRefreshToken(r2)).to.equal(null);
    });

    it('refuses to rotate a refresh token for another subject', async () => {
      const jwt = await make();
      const [access, refresh] = await jwt.createToken({ sub: 'alice' });
      expect(await jwt.updateToken({ sub: 'mallory' }, refresh)).to.equal(null);
      expect(await jwt.validateAccessToken(access)).to.not.equal(null);
      expect(await jwt.updateToken({ sub: 'alice' }, refresh)).to.not.equal(null);
    });

    it('revokeAll logs a subject out everywhere; a later login works', async () => {
      const jwt = await make();
      const a = await jwt.createToken({ sub: 'u5' });
      const b = await jwt.createToken({ sub: 'u5' });
      const other = await jwt.createToken({ sub: 'u6' });
      expect(await jwt.revokeAll('u5')).to.equal(2);
      for (const [access, refresh] of [a, b]) {
        expect(await jwt.validateAccessToken(access)).to.equal(null);
        expect(await jwt.validateRefreshToken(refresh)).to.equal(null);
      }
      expect(await jwt.validateAccessToken(other[0])).to.not.equal(null);
      const [fresh, freshRefresh] = await jwt.createToken({ sub: 'u5' });
      expect(await jwt.validateAccessToken(fresh)).to.not.equal(null);
      expect(await jwt.validateRefreshToken(freshRefresh)).to.not.equal(null);
      expect(await jwt.revokeAll('nobody')).to.equal(0);
    });

    it('needs a string sub, and validates claims with claimsClass', async () => {
      const jwt = await make({ claimsClass: UserClaims });
      for (const bad of [{}, { sub: 1 }, { sub: '' }, null, { sub: 'u', role: 5 }, { sub: 'x'.repeat(30), role: 'a' }]) {
        const err = await jwt.createToken(bad as never).then(() => null, (e: unknown) => e);
        expect(err, JSON.stringify(bad)).to.be.instanceOf(InvalidClaimsError);
        expect((err as InvalidClaimsError).code).to.equal('ERR_WT_INVALID_CLAIMS');
      }
      const [access] = await jwt.createToken({ sub: 'u7', role: 'reader' });
      expect(await jwt.validateAccessToken(access)).to.include({ role: 'reader' });
    });

    it('refuses bad options at construction with InvalidOptionError naming the option', async () => {
      const cases: [Partial<JWTServiceOptions<any>>, RegExp][] = [
        [{ secretKey: '' }, /secretKey/],
        [{ secretKey: 'short' }, /secretKey/],
        [{ algorithm: 'RS256' }, /algorithm/],
        [{ accessTokenExpireTime: -1 }, /accessTokenExpireTime/],
        [{ refreshTokenExpireTime: 1.5 }, /refreshTokenExpireTime/],
        [{ audience: 5 as never }, /audience/],
      ];
      for (const [options, pattern] of cases) {
        const err = await make(options).then(() => null, (e: unknown) => e);
        expect(err, JSON.stringify(options)).to.be.instanceOf(InvalidOptionError);
        expect((err as Error).message).to.match(pattern);
      }
      const hs = await make({ secretKey: 'k'.repeat(64) });
      expect(hs.algorithm).to.equal('HS512');
    });

    it('rotates 100 distinct sessions in parallel, all successfully', async () => {
      const jwt = await make();
      const pairs = await Promise.all(Array.from({ length: 100 }, (_, i) => jwt.createToken({ sub: `p${i % 10}` })));
      const rotated = await Promise.all(pairs.map(([, refresh], i) => jwt.updateToken({ sub: `p${i % 10}` }, refresh)));
      expect(rotated.filter(Boolean)).to.have.length(100);
      for (const pair of rotated) expect(await jwt.validateAccessToken(pair![0])).to.not.equal(null);
    }).timeout(30_000);

    it('with rotationGraceTime 0, lets exactly one of 20 parallel rotations of the same refresh token win', async () => {
      const jwt = await make({ rotationGraceTime: 0 });
      const [, refresh] = await jwt.createToken({ sub: 'race' });
      const results = await Promise.all(Array.from({ length: 20 }, () => jwt.updateToken({ sub: 'race' }, refresh)));
      expect(results.filter(Boolean)).to.have.length(1);
      // The 19 losers were replays of a rotated token: the family is revoked, the winner's pair included.
      const winner = results.find(Boolean)!;
      expect(await jwt.validateAccessToken(winner[0])).to.equal(null);
      expect(await jwt.validateRefreshToken(winner[1])).to.equal(null);
    }).timeout(30_000);

    it('answers 20 parallel rotations of the same refresh token with one and the same pair (retries within the grace)', async () => {
      const jwt = await make();
      const [, refresh] = await jwt.createToken({ sub: 'race' });
      const results = await Promise.all(Array.from({ length: 20 }, () => jwt.updateToken({ sub: 'race' }, refresh)));
      const jtis = new Set(results.map((pair) => `${decodeJwt(pair![0]).jti} ${decodeJwt(pair![1]).jti}`));
      expect(jtis.size).to.equal(1);
      const [access, next] = results[0]!;
      expect(await jwt.validateAccessToken(access)).to.not.equal(null);
      // Once the new refresh token is used, the old one is reuse again: the family is revoked.
      expect(await jwt.validateRefreshToken(next)).to.not.equal(null);
      expect(await jwt.updateToken({ sub: 'race' }, refresh)).to.equal(null);
      expect(await jwt.validateAccessToken(access)).to.equal(null);
      expect(await jwt.validateRefreshToken(next)).to.equal(null);
    }).timeout(30_000);
  });
}
