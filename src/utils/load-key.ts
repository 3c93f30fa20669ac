/**
 * @module `loadKey`: reads a signing key and decides its JWS algorithm from the key itself,
 * so the algorithm is pinned by the key and never taken from a token (RFC 8725 §3.1).
 */
import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { InvalidKeyError, KeyPasswordError, WeakKeyError } from '../errors';

/** Every algorithm webtool signs with. */
export type JWSAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'EdDSA'
  | 'ES256' | 'ES384' | 'ES512'
  | 'RS256' | 'RS384' | 'RS512';

/** A key ready for jose. */
export interface LoadedKey {
  algorithm: JWSAlgorithm;
  /** Absent when only a public key was given (verify only). */
  signingKey?: KeyObject;
  /** The public key, or the secret for HMAC. */
  verifyKey: KeyObject;
  symmetric: boolean;
}

/** Options of `loadKey`. */
export interface LoadKeyOptions {
  /** Accept HMAC secrets shorter than 32 bytes. Don't, outside tests. @default false */
  allowWeakSecret?: boolean;
}

const CURVES: Record<string, JWSAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** Minimum HMAC secret: the hash size of SHA-256 (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

/**
 * Loads a key. PEM (or a KeyObject) gives an asymmetric key — private (sign and verify) or public (verify);
 * anything else is an HMAC secret whose UTF-8 length picks HS256 (32–47 bytes), HS384 (48–63) or HS512 (64+).
 * RSA moduli pick RS256 (2048–3071 bits), RS384 (3072–4095), RS512 (4096+).
 * @throws InvalidKeyError, WeakKeyError, KeyPasswordError
 * @example const { algorithm } = loadKey(makeEdKey()) // 'EdDSA'
 */
export function loadKey(key: string | Buffer | KeyObject, password?: string, options: LoadKeyOptions = {}): LoadedKey {
  if (key instanceof KeyObject) return fromKeyObject(key, options);
  const text = typeof key === 'string' ? key : key.toString('utf8');
  if (text.includes('-----BEGIN')) return fromPem(text, password);
  const secret = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  return fromSecret(secret, options);
}

function fromSecret(secret: Buffer, { allowWeakSecret = false }: LoadKeyOptions): LoadedKey {
  if (secret.length === 0) throw new InvalidKeyError('the secret key is empty');
  if (secret.length < MIN_SECRET_BYTES && !allowWeakSecret) {
    throw new WeakKeyError(`the secret key is ${secret.length} bytes; HMAC needs at least ${MIN_SECRET_BYTES} (pass allowWeakSecret to override)`);
  }
  const algorithm: JWSAlgorithm = secret.length >= 64 ? 'HS512' : secret.length >= 48 ? 'HS384' : 'HS256';
  const keyObject = createSecretKey(secret);
  return { algorithm, signingKey: keyObject, verifyKey: keyObject, symmetric: true };
}

function fromPem(pem: string, password?: string): LoadedKey {
  const isPublic = /-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem) || pem.includes('-----BEGIN CERTIFICATE-----');
  if (isPublic) {
    try {
      return fromKeyObject(createPublicKey(pem));
    } catch (err) {
      if (err instanceof InvalidKeyError) throw err;
      throw new InvalidKeyError('the public key could not be parsed', { cause: err });
    }
  }
  const encrypted = pem.includes('ENCRYPTED');
  if (encrypted && !password) throw new KeyPasswordError('the private key is encrypted: a password is required');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem', passphrase: password });
  } catch (err) {
    if (encrypted) throw new KeyPasswordError('the private key could not be decrypted: wrong password', { cause: err });
    throw new InvalidKeyError('the private key could not be parsed', { cause: err });
  }
  return fromKeyObject(privateKey);
}

function fromKeyObject(key: KeyObject, options: LoadKeyOptions = {}): LoadedKey {
  if (key.type === 'secret') return fromSecret(key.export(), options);
  const algorithm = asymmetricAlgorithm(key);
  if (key.type === 'private') return { algorithm, signingKey: key, verifyKey: createPublicKey(key), symmetric: false };
  return { algorithm, verifyKey: key, symmetric: false };
}

function asymmetricAlgorithm(key: KeyObject): JWSAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    // jose 6 signs with WebCrypto, which has neither (a service would start, then fail every login).
    case 'ed448':
      throw new InvalidKeyError('Ed448 keys are not supported (jose signs EdDSA with Ed25519 only): use an Ed25519 key (makeEdKey())');
    case 'ec': {
      if (details.namedCurve === 'secp256k1') throw new InvalidKeyError('secp256k1 (ES256K) keys are not supported (WebCrypto has no ES256K): use ES256, ES384 or ES512 (makeEcKey())');
      const algorithm = CURVES[details.namedCurve ?? ''];
      if (!algorithm) throw new InvalidKeyError(`unsupported EC curve ${details.namedCurve ?? '(unknown)'}`);
      return algorithm;
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048) throw new InvalidKeyError(`RSA keys need at least 2048 bits (got ${bits})`);
      return bits >= 4096 ? 'RS512' : bits >= 3072 ? 'RS384' : 'RS256';
    }
    default:
      throw new InvalidKeyError(`unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`);
  }
}
