/** @module Parses `JWTService` options once into a full configuration. */
import type { KeyObject } from 'node:crypto';
import { InvalidOptionError, WebtoolError } from '../../errors';
import { loadKey, type JWSAlgorithm, type LoadedKey } from '../../utils/load-key';
import { checkOptions } from '../../utils/options';

/** Options of `JWTService` and `RedisJWTService`. Times are in seconds, as the seed's API has them. */
export interface JWTServiceOptions<C = unknown> {
  /** PEM key, HMAC secret or KeyObject; the algorithm is derived from it. */
  secretKey: string | Buffer | KeyObject;
  /** Password of an encrypted PEM. */
  password?: string;
  /** Accept an HMAC secret under 32 bytes. @default false */
  allowWeakSecret?: boolean;
  /** @default 3600 */
  accessTokenExpireTime?: number;
  /** @default 604800 (7 days) */
  refreshTokenExpireTime?: number;
  /** Must agree with the key's algorithm if given. */
  algorithm?: JWSAlgorithm;
  issuer?: string;
  audience?: string | string[];
  /** A class-validator class the claims must satisfy before a token is issued. */
  claimsClass?: new () => C;
  /** Prefix of every key the service writes (after the cache's own prefix). @default 'webtool:' */
  keyPrefix?: string;
  /** Verified access tokens remembered, so a token's signature is checked once per process. @default 10000 */
  verifiedTokenCacheSize?: number;
}

/** The parsed configuration. */
export interface JWTConfig<C = unknown> {
  key: LoadedKey & { signingKey: KeyObject };
  accessTtlS: number;
  refreshTtlS: number;
  issuer?: string;
  audience?: string | string[];
  claimsClass?: new () => C;
  keyPrefix: string;
  verifiedTokenCacheSize: number;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new InvalidOptionError(name, 'must be a positive integer');
  return n;
}

/** @throws InvalidOptionError naming the option */
export function parseJWTOptions<C>(options: JWTServiceOptions<C>): JWTConfig<C> {
  checkOptions(options, ['secretKey', 'password', 'allowWeakSecret', 'accessTokenExpireTime', 'refreshTokenExpireTime', 'algorithm', 'issuer', 'audience', 'claimsClass', 'keyPrefix', 'verifiedTokenCacheSize'], 'JWTService');
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object with secretKey');
  if (options.secretKey === undefined || options.secretKey === null || options.secretKey === '') {
    throw new InvalidOptionError('secretKey', 'is required');
  }
  let key: LoadedKey;
  try {
    key = loadKey(options.secretKey, options.password, { allowWeakSecret: options.allowWeakSecret });
  } catch (err) {
    // Keep the typed key error's message, never the key.
    throw new InvalidOptionError('secretKey', (err as WebtoolError).message, { cause: err });
  }
  if (!key.signingKey) throw new InvalidOptionError('secretKey', 'is a public key; signing needs the private key');
  if (options.algorithm !== undefined && options.algorithm !== key.algorithm) {
    throw new InvalidOptionError('algorithm', `is ${options.algorithm} but the key is for ${key.algorithm}`);
  }
  for (const name of ['issuer', 'keyPrefix'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') throw new InvalidOptionError(name, 'must be a string');
  }
  const audience = options.audience;
  if (audience !== undefined && typeof audience !== 'string' && !(Array.isArray(audience) && audience.every((a) => typeof a === 'string'))) {
    throw new InvalidOptionError('audience', 'must be a string or an array of strings');
  }
  if (options.claimsClass !== undefined && typeof options.claimsClass !== 'function') {
    throw new InvalidOptionError('claimsClass', 'must be a class');
  }
  return {
    key: key as JWTConfig['key'],
    accessTtlS: positiveInteger('accessTokenExpireTime', options.accessTokenExpireTime, 3600),
    refreshTtlS: positiveInteger('refreshTokenExpireTime', options.refreshTokenExpireTime, 604_800),
    issuer: options.issuer,
    audience,
    claimsClass: options.claimsClass,
    keyPrefix: options.keyPrefix ?? 'webtool:',
    verifiedTokenCacheSize: positiveInteger('verifiedTokenCacheSize', options.verifiedTokenCacheSize, 10_000),
  };
}
