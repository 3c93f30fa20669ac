/**
 * @module Verifies an external issuer's JWT access token with jose's remote key set: keys cached,
 * an unknown `kid` refetches at most once per `jwksCooldownMs`, algorithms asymmetric only, issuer
 * and audience always checked (RFC 9068 §4).
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import { IssuerUnavailableError } from '../../errors';
import type { IssuerClient } from './issuer';
import type { OIDCConfig } from './options';

/** jose error codes that mean "this token is bad", not "the issuer failed". */
const TOKEN_ERRORS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWK_INVALID',
]);

/** `typ` values an access token may carry: RFC 9068's `at+jwt`, the generic `JWT`, or none. */
function isAccessTyp(typ: string | undefined): boolean {
  if (typ === undefined) return true;
  const t = typ.toLowerCase().replace(/^application\//, '');
  return t === 'at+jwt' || t === 'jwt';
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** A JWS in compact form: three base64url parts. Anything else is an opaque token. */
export function looksLikeJWT(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** Verifies JWT access tokens of one issuer. */
export class JWTVerifier {
  private keySet?: Promise<KeySet>;

  constructor(private readonly config: OIDCConfig, private readonly issuer: IssuerClient) {}

  /**
   * @returns the verified claims, or null for a bad token (expired, foreign, wrong audience, unknown kid…)
   * @throws IssuerUnavailableError when the keys cannot be read
   */
  async verify(token: string): Promise<JWTPayload | null> {
    this.keySet ??= this.createKeySet().catch((err) => {
      this.keySet = undefined; // discovery failed: tried again on a later request (after the backoff)
      throw err;
    });
    const keySet = await this.keySet;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceS,
        typ: this.config.requireAtJwt ? 'at+jwt' : undefined,
        requiredClaims: ['exp'],
      });
      // RFC 8725 §3.11: an explicitly typed token of another kind (a refresh token `rt+jwt`, a
      // logout token…) signed by the same key is not an access token.
      return isAccessTyp(protectedHeader.typ) ? payload : null;
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      const code = (err as { code?: unknown })?.code;
      if (typeof code === 'string' && TOKEN_ERRORS.has(code)) return null;
      // JWKS timeout, non-200, not a key set: the issuer's fault, not the token's.
      throw this.issuer.failed(`the JWKS could not be read (${typeof code === 'string' ? code : (err as Error)?.name})`, err);
    }
  }

  private async createKeySet(): Promise<KeySet> {
    const { jwksUri } = await this.issuer.metadata();
    return createRemoteJWKSet(jwksUri, {
      timeoutDuration: this.config.timeoutMs,
      cooldownDuration: this.config.jwksCooldownMs,
      cacheMaxAge: this.config.jwksMaxAgeMs,
      [customFetch]: (url: string, init: RequestInit) => this.issuer.fetch(url, init),
    });
  }
}
