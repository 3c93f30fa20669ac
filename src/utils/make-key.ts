/**
 * @module Key generators: synchronous, PKCS#8 PEM for key pairs, a URL-safe string for HMAC.
 * `save` writes the key with mode 0600 and never overwrites a file.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { InvalidOptionError, KeyFileExistsError } from '../errors';

/** Options shared by the generators. */
export interface MakeKeyOptions<A extends string> {
  algorithm?: A;
  /** true: write to the default file name in the working directory; a string: write to that path. @default false */
  save?: boolean | string;
  /** Encrypts the private key PEM (aes-256-cbc). Ignored for symmetric keys. */
  password?: string;
}

function encoding(password?: string) {
  return password
    ? ({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password } as const)
    : ({ type: 'pkcs8', format: 'pem' } as const);
}

/** Writes `key` to `path` (mode 0600), refusing to replace an existing file. @throws KeyFileExistsError */
export function saveKey(key: string, path: string): void {
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(`${path} exists; not overwritten`, { cause: err });
    throw err;
  }
}

function finish<A extends string>(key: string, options: MakeKeyOptions<A>, defaultName: string): string {
  if (options.save) saveKey(key, typeof options.save === 'string' ? options.save : defaultName);
  return key;
}

function pick<A extends string>(value: A | undefined, allowed: readonly A[]): A {
  const algorithm = value ?? allowed[0];
  if (!allowed.includes(algorithm)) throw new InvalidOptionError('algorithm', `must be one of ${allowed.join(', ')}`);
  return algorithm;
}

/**
 * An Ed25519 private key, PKCS#8 PEM. Signs with EdDSA.
 * @example const pem = makeEdKey({ save: 'keys/jwt.pem' })
 */
export function makeEdKey(options: MakeKeyOptions<'Ed25519'> = {}): string {
  pick(options.algorithm, ['Ed25519'] as const);
  const type = 'ed25519';
  const { privateKey } = generateKeyPairSync(type, { privateKeyEncoding: encoding(options.password), publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return finish(privateKey, options, `webtool-${type}.pem`);
}

const EC_CURVES = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' } as const;

/** An EC private key for ES256 (default, P-256), ES384 or ES512, PKCS#8 PEM. */
export function makeEcKey(options: MakeKeyOptions<keyof typeof EC_CURVES> = {}): string {
  const algorithm = pick(options.algorithm, ['ES256', 'ES384', 'ES512'] as const);
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: EC_CURVES[algorithm],
    privateKeyEncoding: encoding(options.password),
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return finish(privateKey, options, `webtool-${algorithm.toLowerCase()}.pem`);
}

const RSA_BITS = { RS256: 2048, RS384: 3072, RS512: 4096 } as const;

/** An RSA private key sized for RS256 (default, 2048 bits), RS384 (3072) or RS512 (4096), PKCS#8 PEM. */
export function makeRsaKey(options: MakeKeyOptions<keyof typeof RSA_BITS> = {}): string {
  const algorithm = pick(options.algorithm, ['RS256', 'RS384', 'RS512'] as const);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS[algorithm],
    privateKeyEncoding: encoding(options.password),
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return finish(privateKey, options, `webtool-${algorithm.toLowerCase()}.pem`);
}

// Random bytes per algorithm, chosen so the base64url string is exactly 32/48/64 characters:
// loadKey maps those lengths back to HS256/HS384/HS512.
const SECRET_BYTES = { HS256: 24, HS384: 36, HS512: 48 } as const;

/** A URL-safe random HMAC secret for HS256 (default, 192 bits), HS384 (288) or HS512 (384). */
export function makeSymmetricKey(options: MakeKeyOptions<keyof typeof SECRET_BYTES> = {}): string {
  const algorithm = pick(options.algorithm, ['HS256', 'HS384', 'HS512'] as const);
  const secret = randomBytes(SECRET_BYTES[algorithm]).toString('base64url');
  return finish(secret, options, `webtool-${algorithm.toLowerCase()}.key`);
}
