/** @module `JWTBackend`: `Authorization: Bearer <access token>` → the token's subject. */
import type { Request } from 'express';
import { toAuthData, type AuthData } from '../auth-data';
import type { AuthBackend } from './backend';
import { MAX_TOKEN_LENGTH } from '../jwt/verify';
import { InvalidOptionError } from '../../errors';

/** What the backend needs of a token service (JWTService and RedisJWTService fit). */
export interface AccessTokenValidator {
  validateAccessToken(token: string): Promise<({ sub: string } & Record<string, unknown>) | null>;
}

// RFC 6750 §2.1: b64token after the (case-insensitive, RFC 7235) scheme.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Longer headers are not even parsed: a token of `MAX_TOKEN_LENGTH` plus the scheme and spaces (issue 13 item 7). */
export const MAX_AUTHORIZATION_LENGTH = MAX_TOKEN_LENGTH + 16;

/** Extracts the bearer token, or null for anything else. */
export function bearerToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * Authenticates bearer access tokens. A missing, malformed, expired or revoked token is null:
 * the request goes on as anonymous, never a 500.
 * @example new JWTBackend(jwtService)
 */
export class JWTBackend implements AuthBackend {
  readonly kind = 'user' as const;

  constructor(private readonly service: AccessTokenValidator) {
    // Without a service every caller would silently be anonymous (issue 11).
    if (typeof service?.validateAccessToken !== 'function') throw new InvalidOptionError('service', 'is required: new JWTBackend(jwtService)');
  }

  async authenticate(req: Request): Promise<AuthData | null> {
    const token = bearerToken(req);
    if (!token) return null;
    try {
      const payload = await this.service.validateAccessToken(token);
      return payload ? toAuthData(payload) : null;
    } catch {
      return null;
    }
  }
}
