/**
 * @module RFC 7662 token introspection for opaque tokens, with a bounded cache keyed by the token's
 * SHA-256 (the token itself is never kept), each answer kept no longer than the token's `exp`.
 */
import { createHash } from 'node:crypto';
import type { AuthData } from '../auth-data';
import { IssuerUnavailableError } from '../../errors';
import { WriteOrderedMap } from '../../utils/write-ordered-map';
import { claimsToAuthData, safeClaims } from './claims';
import type { IssuerClient } from './issuer';
import type { OIDCConfig } from './options';

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

function audiences(value: unknown): string[] {
  return typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * Introspects opaque tokens. Bounds: `cacheSize` active answers and `cacheSize` inactive ones (kept
 * apart, so a flood of made-up tokens cannot evict real ones); concurrent lookups of one token share
 * one call to the issuer, and at most `maxConcurrent` calls are in flight (a flood of made-up tokens
 * is shed here instead of reaching the issuer).
 */
export class Introspector {
  private readonly active: WriteOrderedMap<string, { auth: AuthData; untilMs: number }>;
  private readonly inactive: WriteOrderedMap<string, number>;
  private readonly pending = new Map<string, Promise<AuthData | null>>();

  constructor(
    private readonly config: OIDCConfig & { introspection: NonNullable<OIDCConfig['introspection']> },
    private readonly issuer: IssuerClient,
  ) {
    this.active = new WriteOrderedMap(config.introspection.cacheSize);
    this.inactive = new WriteOrderedMap(config.introspection.cacheSize);
  }

  /** Entries held now (active + inactive). */
  get size(): number {
    return this.active.size + this.inactive.size;
  }

  /**
   * The caller of an active token for our audience, null for anything else.
   * @throws IssuerUnavailableError when the endpoint is down, slow or refuses our credentials
   */
  async introspect(token: string): Promise<AuthData | null> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const hit = this.active.get(key);
    if (hit && hit.untilMs > now) return copy(hit.auth);
    if (hit) this.active.delete(key);
    const miss = this.inactive.get(key);
    if (miss !== undefined && miss > now) return null;
    let call = this.pending.get(key);
    if (!call) {
      if (this.pending.size >= this.config.introspection.maxConcurrent) {
        throw new IssuerUnavailableError(`${this.pending.size} introspections in flight; not starting another`);
      }
      call = this.lookup(key, token).finally(() => this.pending.delete(key));
      this.pending.set(key, call);
    }
    const auth = await call;
    return auth && copy(auth);
  }

  private async lookup(key: string, token: string): Promise<AuthData | null> {
    const { introspection, issuer: issuerUrl, audience } = this.config;
    const endpoint = (await this.issuer.metadata()).introspectionEndpoint;
    if (!endpoint) throw this.issuer.failed('no introspection_endpoint in discovery and none configured');
    const response = await this.issuer.fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuth(introspection.clientId, introspection.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    // 400/422: the issuer refused this token value (RFC 7662 answers 200 { active: false }, but some
    // issuers reject a malformed token outright) — the caller's fault, never a reason to stop calling
    // the issuer for everyone (one made-up token per backoff would black out every opaque-token user).
    if (response.status === 400 || response.status === 422) {
      await response.body?.cancel();
      this.inactive.set(key, Date.now() + introspection.negativeTtlMs);
      return null;
    }
    // 401/403: our credentials are wrong; 429, 5xx: the issuer is overloaded or down — issuer-side failures.
    if (response.status !== 200) {
      await response.body?.cancel();
      throw this.issuer.failed(`introspection answered ${response.status}`);
    }
    const body = safeClaims(await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw this.issuer.failed('introspection answered without a JSON object');
    const now = Date.now();
    const expMs = typeof body.exp === 'number' ? body.exp * 1000 : Infinity;
    const wanted = ([] as string[]).concat(audience);
    const valid = body.active === true
      && expMs > now
      && (body.iss === undefined || body.iss === issuerUrl)
      && audiences(body.aud).some((a) => wanted.includes(a));
    const auth = valid ? claimsToAuthData(withoutIntrospectionFields(body), this.config.roles, this.config.identifierPrefix) : null;
    if (!auth) {
      this.inactive.set(key, now + introspection.negativeTtlMs);
      return null;
    }
    this.active.set(key, { auth, untilMs: Math.min(expMs, now + introspection.cacheMaxTtlMs) });
    return auth;
  }
}

/** A fresh `AuthData` per request: a handler that changes `req.auth` does not change the cached one. */
function copy(auth: AuthData): AuthData {
  return { identifier: auth.identifier, scope: auth.scope && [...auth.scope], extra: { ...auth.extra } };
}

/** `active` and `token_type` describe the answer, not the caller. */
function withoutIntrospectionFields(body: Record<string, unknown>): Record<string, unknown> {
  const { active: _active, token_type: _type, ...claims } = body;
  return claims;
}
