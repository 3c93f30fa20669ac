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
  /** Live sessions (logins) per subject; a new login beyond it ends and revokes the oldest. At most 10000. @default 100 */
  maxSessionsPerSubject?: number;
  /**
   * Seconds during which presenting the same refresh token again to `updateToken` (a retry after a lost
   * reply) answers the same pair instead of counting as reuse, as long as the new refresh token was not
   * used yet. 0 disables it. @default 10
   */
  rotationGraceTime?: number;
  /** Seconds a revocation outlasts the revoked token's own `exp` (clock skew between hosts and Redis). @default 60 */
  clockTolerance?: number;
  /** Revocations this process remembers; beyond it, see README "Tokens" (fail closed). @default 100000 */
  maxRevocations?: number;
  /** The `kid` of `secretKey`, put in every token's header and in `jwks()`. Required with `previousKeys`. */
  keyId?: string;
  /**
   * Keys that signed earlier tokens, verification only (a public key suffices). A token is verified
   * with the one of these keys its `kid` names; tokens without `kid` with `secretKey` only.
   * Remove a key once the tokens it signed have expired (the refresh lifetime).
   */
  previousKeys?: PreviousKey[];
}

/** A retired key still trusted for verification. */
export interface PreviousKey {
  key: string | Buffer | KeyObject;
  kid: string;
  password?: string;
}

/** A key of the service's own, as verification sees it. */
export type OwnKey = LoadedKey & { kid?: string };

/** The parsed configuration. */
export interface JWTConfig<C = unknown> {
  key: LoadedKey & { signingKey: KeyObject; kid?: string };
  /** Verification-only keys, each with its kid. */
  previousKeys: (OwnKey & { kid: string })[];
  accessTtlS: number;
  refreshTtlS: number;
  issuer?: string;
  audience?: string | string[];
  claimsClass?: new () => C;
  keyPrefix: string;
  verifiedTokenCacheSize: number;
  maxSessionsPerSubject: number;
  rotationGraceS: number;
  clockToleranceS: number;
  maxRevocations: number;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new InvalidOptionError(name, 'must be a non-negative integer (seconds)');
  return n;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new InvalidOptionError(name, 'must be a positive integer');
  return n;
}

function atMost(name: string, n: number, max: number): number {
  if (n > max) throw new InvalidOptionError(name, `must be at most ${max}`);
  return n;
}

/** @throws InvalidOptionError naming the option */
export function parseJWTOptions<C>(options: JWTServiceOptions<C>): JWTConfig<C> {
  checkOptions(options, ['secretKey', 'password', 'allowWeakSecret', 'accessTokenExpireTime', 'refreshTokenExpireTime', 'algorithm', 'issuer', 'audience', 'claimsClass', 'keyPrefix', 'verifiedTokenCacheSize', 'maxSessionsPerSubject', 'rotationGraceTime', 'clockTolerance', 'maxRevocations', 'keyId', 'previousKeys'], 'JWTService');
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
    key: { ...key, kid: parseKeyId(options) } as JWTConfig['key'],
    previousKeys: parsePreviousKeys(options),
    accessTtlS: positiveInteger('accessTokenExpireTime', options.accessTokenExpireTime, 3600),
    refreshTtlS: positiveInteger('refreshTokenExpireTime', options.refreshTokenExpireTime, 604_800),
    issuer: options.issuer,
    audience,
    claimsClass: options.claimsClass,
    keyPrefix: options.keyPrefix ?? 'webtool:',
    verifiedTokenCacheSize: positiveInteger('verifiedTokenCacheSize', options.verifiedTokenCacheSize, 10_000),
    maxSessionsPerSubject: atMost('maxSessionsPerSubject', positiveInteger('maxSessionsPerSubject', options.maxSessionsPerSubject, 100), 10_000),
    rotationGraceS: nonNegativeInteger('rotationGraceTime', options.rotationGraceTime, 10),
    clockToleranceS: nonNegativeInteger('clockTolerance', options.clockTolerance, 60),
    maxRevocations: positiveInteger('maxRevocations', options.maxRevocations, 100_000),
  };
}

function parseKeyId(options: JWTServiceOptions<unknown>): string | undefined {
  const { keyId } = options;
  if (keyId !== undefined && (typeof keyId !== 'string' || keyId === '')) throw new InvalidOptionError('keyId', 'must be a non-empty string');
  if (keyId === undefined && options.previousKeys?.length) throw new InvalidOptionError('keyId', 'is required with previousKeys (tokens must name their key)');
  return keyId;
}

function parsePreviousKeys(options: JWTServiceOptions<unknown>): JWTConfig['previousKeys'] {
  const list = options.previousKeys ?? [];
  if (!Array.isArray(list)) throw new InvalidOptionError('previousKeys', 'must be an array of { key, kid }');
  const seen = new Set([options.keyId]);
  return list.map((entry, i) => {
    const name = `previousKeys[${i}]`;
    if (!entry || typeof entry !== 'object') throw new InvalidOptionError(name, 'must be { key, kid }');
    if (typeof entry.kid !== 'string' || entry.kid === '') throw new InvalidOptionError(`${name}.kid`, 'must be a non-empty string');
    if (seen.has(entry.kid)) throw new InvalidOptionError(`${name}.kid`, `"${entry.kid}" names two keys`);
    seen.add(entry.kid);
    try {
      return { ...loadKey(entry.key, entry.password, { allowWeakSecret: options.allowWeakSecret }), kid: entry.kid };
    } catch (err) {
      throw new InvalidOptionError(`${name}.key`, (err as WebtoolError).message, { cause: err });
    }
  });
}
