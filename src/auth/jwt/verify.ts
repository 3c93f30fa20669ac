/**
 * @module Verifies one token with jose: the algorithm is pinned to the key's (no `none`, no HS/RS
 * confusion), `kid`/`jku`/`x5u` are never used to pick a key, and the token type must match.
 */
import { jwtVerify } from 'jose';
import type { JWTConfig } from './options';
import { TOKEN_TYP, type BaseClaims, type IssuedClaims } from './types';

/** Tokens longer than this are refused unread: a bound on work per hostile request. */
export const MAX_TOKEN_LENGTH = 8192;

/** @returns the payload, or null for any bad token — never throws. */
export async function verifyToken(
  config: JWTConfig,
  token: unknown,
  type: 'access' | 'refresh',
): Promise<(BaseClaims & IssuedClaims) | null> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  try {
    const { payload } = await jwtVerify(token, config.key.verifyKey, {
      algorithms: [config.key.algorithm],
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
