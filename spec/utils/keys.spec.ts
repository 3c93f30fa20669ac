import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import { InvalidKeyError, InvalidOptionError, KeyFileExistsError, KeyPasswordError, WeakKeyError } from '../../src/errors';
import { loadKey } from '../../src/utils/load-key';
import { makeEcKey, makeEdKey, makeRsaKey, makeSymmetricKey } from '../../src/utils/make-key';

const tmp = () => mkdtempSync(join(tmpdir(), 'webtool-keys-'));

describe('makeEdKey / makeEcKey / makeRsaKey / makeSymmetricKey with loadKey', () => {
  const cases: [string, () => string, string][] = [
    ['Ed25519', () => makeEdKey(), 'EdDSA'],
    ['ES256', () => makeEcKey(), 'ES256'],
    ['ES384', () => makeEcKey({ algorithm: 'ES384' }), 'ES384'],
    ['ES512', () => makeEcKey({ algorithm: 'ES512' }), 'ES512'],
    ['RS256', () => makeRsaKey(), 'RS256'],
    ['RS384', () => makeRsaKey({ algorithm: 'RS384' }), 'RS384'],
    ['HS256', () => makeSymmetricKey(), 'HS256'],
    ['HS384', () => makeSymmetricKey({ algorithm: 'HS384' }), 'HS384'],
    ['HS512', () => makeSymmetricKey({ algorithm: 'HS512' }), 'HS512'],
  ];
  for (const [name, make, algorithm] of cases) {
    it(`generates a ${name} key that loadKey reads as ${algorithm}`, () => {
      const key = make();
      const loaded = loadKey(key);
      expect(loaded.algorithm).to.equal(algorithm);
      expect(loaded.signingKey).to.not.equal(undefined);
      expect(loaded.symmetric).to.equal(algorithm.startsWith('HS'));
    });
  }

  it('generates RS512 from a 4096-bit key', function () {
    this.timeout(60_000);
    expect(loadKey(makeRsaKey({ algorithm: 'RS512' })).algorithm).to.equal('RS512');
  });

  it('generates PKCS#8 PEM and URL-safe secrets', () => {
    expect(makeEdKey()).to.match(/^-----BEGIN PRIVATE KEY-----/);
    expect(makeSymmetricKey()).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(makeSymmetricKey({ algorithm: 'HS512' })).to.match(/^[A-Za-z0-9_-]{64}$/);
  });

  it('refuses an unknown algorithm option', () => {
    expect(() => makeEdKey({ algorithm: 'RSA' as never })).to.throw(InvalidOptionError, /algorithm/);
  });

  it('saves with mode 0600 and never overwrites', () => {
    const file = join(tmp(), 'jwt.pem');
    const key = makeEdKey({ save: file });
    expect(readFileSync(file, 'utf8')).to.equal(key);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const err = (() => {
      try {
        makeEdKey({ save: file });
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(KeyFileExistsError);
    expect((err as KeyFileExistsError).code).to.equal('ERR_WT_KEY_FILE_EXISTS');
    expect(readFileSync(file, 'utf8')).to.equal(key);
  });

  it('encrypts with a password; loadKey needs the right one', () => {
    const pem = makeEdKey({ password: 'correct horse' });
    expect(pem).to.contain('ENCRYPTED');
    expect(loadKey(pem, 'correct horse').algorithm).to.equal('EdDSA');
    expect(() => loadKey(pem)).to.throw(KeyPasswordError);
    try {
      loadKey(pem, 'not-it');
      expect.fail('wrong password accepted');
    } catch (err) {
      expect(err).to.be.instanceOf(KeyPasswordError);
      expect((err as KeyPasswordError).code).to.equal('ERR_WT_KEY_PASSWORD');
      expect((err as Error).message).to.not.contain('not-it');
    }
  });
});

describe('loadKey', () => {
  it('refuses a secret under 32 bytes unless weak secrets are allowed', () => {
    try {
      loadKey('1234');
      expect.fail('weak secret accepted');
    } catch (err) {
      expect(err).to.be.instanceOf(WeakKeyError);
      expect((err as WeakKeyError).code).to.equal('ERR_WT_WEAK_KEY');
      expect((err as Error).message).to.not.contain('1234');
    }
    expect(loadKey('1234', undefined, { allowWeakSecret: true }).algorithm).to.equal('HS256');
  });

  it('picks HS256/384/512 by secret length', () => {
    expect(loadKey('a'.repeat(32)).algorithm).to.equal('HS256');
    expect(loadKey('a'.repeat(48)).algorithm).to.equal('HS384');
    expect(loadKey(Buffer.alloc(64, 1)).algorithm).to.equal('HS512');
  });

  it('loads a public key for verification only', () => {
    const pub = createPublicKey(makeEcKey({ algorithm: 'ES384' })).export({ type: 'spki', format: 'pem' }) as string;
    const loaded = loadKey(pub);
    expect(loaded.algorithm).to.equal('ES384');
    expect(loaded.signingKey).to.equal(undefined);
  });

  it('loads KeyObjects and PKCS#1 RSA PEM', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(loadKey(privateKey).algorithm).to.equal('RS256');
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(loadKey(pkcs1).algorithm).to.equal('RS256');
  });

  it('refuses small RSA keys, unsupported curves and garbage PEM', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => loadKey(small)).to.throw(InvalidKeyError, /2048/);
    const p224 = generateKeyPairSync('ec', { namedCurve: 'secp224r1' }).privateKey;
    expect(() => loadKey(p224)).to.throw(InvalidKeyError, /curve/);
    expect(() => loadKey('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----')).to.throw(InvalidKeyError);
  });

  it('reads a key file written by save', () => {
    const file = join(tmp(), 'k.pem');
    writeFileSync(file, makeEcKey());
    expect(loadKey(readFileSync(file)).algorithm).to.equal('ES256');
  });
});
