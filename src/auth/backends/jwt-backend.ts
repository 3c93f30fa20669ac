/** @module `JWTBackend`: `Authorization: Bearer <access token>` → the token's subject. */
import type { Request } from 'express';
import { toAuthData, type AuthData } from '../auth-data';
import type { AuthBackend } from './backend';
import { B64TOKEN_SOURCE, MAX_TOKEN_LENGTH } from '../jwt/verify';
import { VALIDATE_CACHED } from '../jwt/validate';
import { InvalidOptionError } from '../../errors';

/** What the backend needs of a token service (JWTService and RedisJWTService fit). */
export interface AccessTokenValidator {
  validateAccessToken(token: string): Promise<({ sub: string } & Record<string, unknown>) | null>;
}

type Payload = { sub: string } & Record<string, unknown>;
/** A service that can answer a token it already verified without an await (JWTService). */
type CachedValidator = AccessTokenValidator & { [VALIDATE_CACHED](token: string): Payload | null | undefined };

// RFC 6750 §2.1: b64token after the (case-insensitive, RFC 7235) scheme.
const BEARER = new RegExp(`^Bearer +(${B64TOKEN_SOURCE}) *$`, 'i');
/** Longer headers are not even parsed: a token of `MAX_TOKEN_LENGTH` plus the scheme and spaces (issue 13 item 7). */
export const MAX_AUTHORIZATION_LENGTH = MAX_TOKEN_LENGTH + 16;

/**
 * The credential of a `Bearer` header with its characters left unchecked: what follows the scheme
 * and its spaces, trailing spaces dropped. Only an exact match of a token this process verified is
 * answered from it; anything else goes through `bearerToken`'s full check first.
 */
function bearerCandidate(header: unknown): string | null {
  if (typeof header !== 'string' || header.length > MAX_AUTHORIZATION_LENGTH || header.length < 8) return null;
  // "Bearer" in any letter case (RFC 7235), then at least one space.
  if ((header.charCodeAt(0) | 0x20) !== 0x62 || header.slice(1, 6).toLowerCase() !== 'earer' || header.charCodeAt(6) !== 0x20) return null;
  let start = 7;
  while (header.charCodeAt(start) === 0x20) start++;
  let end = header.length;
  while (end > start && header.charCodeAt(end - 1) === 0x20) end--;
  return end > start ? header.slice(start, end) : null;
}

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
  /** The service's synchronous path for tokens it already verified, when it has one. */
  private readonly cached?: CachedValidator;

  constructor(private readonly service: AccessTokenValidator) {
    // Without a service every caller would silently be anonymous (issue 11).
    if (typeof service?.validateAccessToken !== 'function') throw new InvalidOptionError('service', 'is required: new JWTBackend(jwtService)');
    if (typeof (service as Partial<CachedValidator>)[VALIDATE_CACHED] === 'function') this.cached = service as CachedValidator;
  }

  /** A reused token is answered synchronously (no microtask hop); a new one is verified first. */
  authenticate(req: Request): AuthData | null | Promise<AuthData | null> {
    if (this.cached) {
      const candidate = bearerCandidate(req.headers.authorization);
      if (!candidate) return null;
      try {
        const payload = this.cached[VALIDATE_CACHED](candidate);
        if (payload !== undefined) return payload ? toAuthData(payload) : null;
      } catch {
        return null;
      }
    }
    const token = bearerToken(req);
    return token ? this.verify(token) : null;
  }

  private async verify(token: string): Promise<AuthData | null> {
    try {
      const payload = await this.service.validateAccessToken(token);
      return payload ? toAuthData(payload) : null;
    } catch {
      return null;
    }
  }
}
