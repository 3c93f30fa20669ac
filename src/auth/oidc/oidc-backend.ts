/** @module `OIDCBackend`: bearer access tokens of an external OpenID provider (Keycloak, Auth0, Entra ID, Cognito…). */
import type { Request } from 'express';
import type { AuthData } from '../auth-data';
import type { AuthBackend } from '../backends/backend';
import { bearerToken } from '../backends/jwt-backend';
import { MAX_TOKEN_LENGTH } from '../jwt/verify';
import { IssuerUnavailableError } from '../../errors';
import { claimsToAuthData } from './claims';
import { Introspector } from './introspection';
import { IssuerClient } from './issuer';
import { parseOIDCOptions, type OIDCBackendOptions, type OIDCConfig } from './options';
import { JWTVerifier, looksLikeJWT } from './verify-jwt';

/**
 * Authenticates `Authorization: Bearer` access tokens issued by an external issuer. JWTs are verified
 * locally against the issuer's JWKS (from discovery); opaque tokens are introspected (RFC 7662) when
 * `introspection` is configured. A bad token is null (the caller stays anonymous); an issuer that is
 * down or slow is null or a 503 `IssuerUnavailableError`, per `onIssuerFailure`, within `timeoutMs`.
 * @example
 * new OIDCBackend({ issuer: 'https://sso.example.com/realms/main', audience: 'orders-api', roles: keycloakRoles() })
 * @throws InvalidOptionError at construction for a bad option
 */
export class OIDCBackend implements AuthBackend {
  readonly kind = 'user' as const;
  private readonly config: OIDCConfig;
  private readonly verifier: JWTVerifier;
  private readonly introspector?: Introspector;

  constructor(options: OIDCBackendOptions) {
    this.config = parseOIDCOptions(options);
    const issuer = new IssuerClient(this.config);
    this.verifier = new JWTVerifier(this.config, issuer);
    if (this.config.introspection) this.introspector = new Introspector({ ...this.config, introspection: this.config.introspection }, issuer);
  }

  /** @throws IssuerUnavailableError (503) when the issuer fails and `onIssuerFailure` is `'unavailable'` */
  async authenticate(req: Request): Promise<AuthData | null> {
    const token = bearerToken(req);
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    try {
      if (looksLikeJWT(token)) {
        const claims = await this.verifier.verify(token);
        return claims ? claimsToAuthData(claims, this.config.roles) : null;
      }
      return this.introspector ? await this.introspector.introspect(token) : null;
    } catch (err) {
      if (err instanceof IssuerUnavailableError && this.config.onIssuerFailure === 'unavailable') throw err;
      return null;
    }
  }
}
