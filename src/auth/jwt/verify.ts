/**
 * @module Verifies one token with jose: the algorithm is pinned to the key's (no `none`, no HS/RS
 * confusion), `kid`/`jku`/`x5u` are never used to pick a key, and the token type must match.
 */
import { jwtVerify, type JWTHeaderParameters } from 'jose';
import type { JWTConfig, OwnKey } from './options';
import { TOKEN_TYP, type BaseClaims, type IssuedClaims } from './types';

/** Tokens longer than this are refused unread: a bound on work per hostile request. */
export const MAX_TOKEN_LENGTH = 8192;

/** RFC 6750 §2.1's b64token, the credential a `Bearer` header carries (source of a pattern). */
export const B64TOKEN_SOURCE = '[A-Za-z0-9\\-._~+/]+=*';

/** @returns the payload, or null for any bad token — never throws. */
export async function verifyToken(
  config: JWTConfig,
  token: unknown,
  type: 'access' | 'refresh',
): Promise<(BaseClaims & IssuedClaims) | null> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  try {
    // One key and no kid: the key itself (jose then skips a key-function round; `algorithms` pins its alg).
    const key = config.key.kid === undefined ? config.key.verifyKey : (header: JWTHeaderParameters) => ownKey(config, header).verifyKey;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [config.key.algorithm, ...config.previousKeys.map((k) => k.algorithm)],
      typ: TOKEN_TYP[type],
      issuer: config.issuer,
      audience: config.audience,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
    });
    if (payload.token_type !== type || typeof payload.sub !== 'string' || typeof payload.fid !== 'string') return null;
    return payload as BaseClaims & IssuedClaims;
  } catch {
    return null;
  }
}

/**
 * The service's own key a header names: its `kid` must be one of ours (no kid → the current key only)
 * and its `alg` that key's algorithm. A service without `keyId` has one key and ignores `kid`, as
 * before key rotation existed. Nothing from the header is used as a key.
 * @throws Error for any other header (the token is then invalid)
 */
export function ownKey(config: JWTConfig, header: JWTHeaderParameters): OwnKey {
  const kid = config.key.kid === undefined ? undefined : header.kid;
  const key = kid === undefined || kid === config.key.kid ? config.key : config.previousKeys.find((k) => k.kid === kid);
  if (!key || header.alg !== key.algorithm) throw new Error('no key of ours matches the token header');
  return key;
}
