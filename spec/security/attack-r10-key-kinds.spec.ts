/**
 * @module Attack round 10: every key kind the library makes and loads must either work end to end
 * (issue, validate access and refresh, both with and without `keyId`) or be refused when the
 * `JWTService` is built — never accepted at startup and then fail on every login.
 * Found by this round (fixed): Ed448 and secp256k1 (ES256K) keys were made, loaded and accepted, then every
 * createToken threw (jose signs with WebCrypto, which has neither); they are now refused with InvalidKeyError,
 * and the key makers and the CLI no longer offer them. `allowWeakSecret` was ignored for a secret KeyObject.
 */
import { createPrivateKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { InMemoryCache, InvalidOptionError, JWTService, makeEcKey, makeEdKey, makeRsaKey, makeSymmetricKey } from '../../src';
import { InvalidKeyError } from '../../src/errors';
import { loadKey } from '../../src/utils/load-key';

const ed448 = (): string => generateKeyPairSync('ed448', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const secp256k1 = (): string => generateKeyPairSync('ec', { namedCurve: 'secp256k1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

type Make = () => { secretKey: string | Buffer | import('node:crypto').KeyObject; password?: string };
const KINDS: [string, Make][] = [
  ['Ed25519 PEM', () => ({ secretKey: makeEdKey() })],
  ['Ed25519 encrypted PEM', () => ({ secretKey: makeEdKey({ password: 'pw' }), password: 'pw' })],
  ['Ed448 PEM', () => ({ secretKey: ed448() })],
  ['ES256 KeyObject', () => ({ secretKey: createPrivateKey(makeEcKey({ algorithm: 'ES256' })) })],
  ['secp256k1 (ES256K) PEM', () => ({ secretKey: secp256k1() })],
  ['ES384 PEM', () => ({ secretKey: makeEcKey({ algorithm: 'ES384' }) })],
  ['ES512 PEM', () => ({ secretKey: makeEcKey({ algorithm: 'ES512' }) })],
  ['RS256 PEM', () => ({ secretKey: makeRsaKey() })],
  ['HS256 secret', () => ({ secretKey: makeSymmetricKey() })],
  ['HS512 secret Buffer', () => ({ secretKey: Buffer.from(makeSymmetricKey({ algorithm: 'HS512' })) })],
];

describe('Attack r10: key kinds the library accepts', function () {
  this.timeout(30_000);
  for (const [name, make] of KINDS) {
    for (const keyId of [undefined, 'k1']) {
      it(`${name}${keyId ? ' with keyId' : ''}: refused at construction, or issues tokens it then validates`, async () => {
        let service: JWTService;
        try {
          service = new JWTService(new InMemoryCache(), { ...make(), keyId });
        } catch {
          return; // refused up front: acceptable
        }
        try {
          const [access, refresh] = await service.createToken({ sub: 'u' });
          expect(await service.validateAccessToken(access)).to.include({ sub: 'u' });
          expect(await service.validateRefreshToken(refresh)).to.include({ sub: 'u' });
        } finally {
          await service.close();
        }
      });
    }
  }

  it('Ed448 and secp256k1 keys are refused at construction with a message naming what to use (PEM, KeyObject, previousKeys); the makers no longer offer them', () => {
    for (const pem of [ed448(), secp256k1()]) {
      expect(() => loadKey(pem)).to.throw(InvalidKeyError, /not supported.*use/);
      for (const secretKey of [pem, createPrivateKey(pem)]) expect(() => new JWTService(new InMemoryCache(), { secretKey })).to.throw(InvalidOptionError, /secretKey: .*not supported.*use/);
      expect(() => new JWTService(new InMemoryCache(), { secretKey: makeEdKey(), keyId: 'a', previousKeys: [{ key: pem, kid: 'b' }] })).to.throw(/not supported/);
    }
    expect(() => makeEdKey({ algorithm: 'Ed448' as never })).to.throw(InvalidOptionError);
    expect(() => makeEcKey({ algorithm: 'ES256K' as never })).to.throw(InvalidOptionError);
  });

  it('allowWeakSecret applies to a secret KeyObject as to the same secret as a string', () => {
    const weak = 'x'.repeat(16);
    expect(new JWTService(new InMemoryCache(), { secretKey: weak, allowWeakSecret: true }).algorithm).to.equal('HS256');
    expect(new JWTService(new InMemoryCache(), { secretKey: createSecretKey(Buffer.from(weak)), allowWeakSecret: true }).algorithm).to.equal('HS256');
  });
});
