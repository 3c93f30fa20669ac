/** @module Signs one token with jose. */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JWTConfig } from './options';
import { TOKEN_TYP } from './types';

/** A fresh token id (128 bits, URL-safe). */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}

/** What one signed token needs. */
export interface TokenSpec {
  claims: Record<string, unknown>;
  type: 'access' | 'refresh';
  jti: string;
  fid: string;
  /** Family generation (`fgen`). @default 0 */
  gen?: number;
  iat: number;
  ttlS: number;
}

/** Signs a token; the algorithm is the key's. */
export function signToken(config: JWTConfig, spec: TokenSpec): Promise<string> {
  const jwt = new SignJWT({ ...spec.claims, token_type: spec.type, fid: spec.fid, fgen: spec.gen ?? 0 })
    .setProtectedHeader({ alg: config.key.algorithm, typ: TOKEN_TYP[spec.type], ...(config.key.kid ? { kid: config.key.kid } : {}) })
    .setIssuedAt(spec.iat)
    .setExpirationTime(spec.iat + spec.ttlS)
    .setJti(spec.jti);
  if (config.issuer) jwt.setIssuer(config.issuer);
  if (config.audience) jwt.setAudience(config.audience);
  return jwt.sign(config.key.signingKey);
}
