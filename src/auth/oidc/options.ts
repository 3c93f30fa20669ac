/** @module Parses `OIDCBackend` options once into a full configuration. */
import { InvalidOptionError } from '../../errors';
import type { Logger } from '../../cache/redis-cache';
import { checkOptions } from '../../utils/options';

/** Asymmetric JWS algorithms an external issuer may sign access tokens with (never HS*, never `none`). */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
/** One of {@link ASYMMETRIC_ALGORITHMS}. */
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Maps verified claims to the caller's roles (kept in `AuthData.extra.roles`). */
export type RolesMapper = (claims: Readonly<Record<string, unknown>>) => string[];

/** Client credentials for the RFC 7662 introspection endpoint. */
export interface IntrospectionOptions {
  clientId: string;
  clientSecret: string;
  /** Defaults to the discovery document's `introspection_endpoint`. */
  endpoint?: string;
  /** Answers remembered (by SHA-256 of the token), each no longer than its token's `exp`. @default 10000 */
  cacheSize?: number;
  /** Longest time an active answer is remembered. @default 60000 */
  cacheMaxTtlMs?: number;
  /** How long an inactive answer is remembered (in a separate map of the same size). @default 10000 */
  negativeTtlMs?: number;
  /** Calls to the endpoint in flight at once; beyond it an uncached token is an issuer failure at once. @default 64 */
  maxConcurrent?: number;
}

/** Options of `OIDCBackend`. */
export interface OIDCBackendOptions {
  /** The issuer URL exactly as tokens carry it in `iss`; discovery is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** The audience this API is (`aud` must contain it). Required: a token for another API is refused. */
  audience: string | string[];
  /** Accepted algorithms, asymmetric only. @default every asymmetric algorithm; the JWKS keys narrow it further */
  algorithms?: AsymmetricAlgorithm[];
  /** Skip discovery and read keys from here. */
  jwksUri?: string;
  /** Seconds of clock skew tolerated on `exp`/`nbf`/`iat`. @default 30 */
  clockToleranceS?: number;
  /** Require the RFC 9068 header `typ: at+jwt` (it is always accepted). @default false */
  requireAtJwt?: boolean;
  /** Roles from claims, e.g. `keycloakRoles({ clientId: 'api' })`. */
  roles?: RolesMapper;
  /**
   * Put before every `identifier` (e.g. `'kc:'`). Give one to each issuer when several (or our own
   * JWTBackend too) share a chain: otherwise equal `sub`s of two issuers are one caller — the same
   * `req.auth.identifier` and the same rate-limit budget. @default ''
   */
  identifierPrefix?: string;
  /** Opaque tokens are introspected (RFC 7662) when this is given. */
  introspection?: IntrospectionOptions;
  /** Bound on every call to the issuer (discovery, JWKS, introspection). @default 2000 */
  timeoutMs?: number;
  /** Minimum time between two JWKS fetches caused by an unknown `kid`. @default 30000 */
  jwksCooldownMs?: number;
  /** Keys are re-fetched after this long even when every `kid` is known. @default 600000 */
  jwksMaxAgeMs?: number;
  /** After a failed call to the issuer, answer "issuer failure" without calling it for this long. @default 1000 */
  failureBackoffMs?: number;
  /** The issuer is down or slow: `unauthorized` → no identity (401 from `@Authorized`), `unavailable` → 503. @default 'unavailable' */
  onIssuerFailure?: 'unauthorized' | 'unavailable';
  /** @default console */
  logger?: Logger;
}

/** The parsed configuration. */
export interface OIDCConfig {
  issuer: string;
  audience: string | string[];
  algorithms: AsymmetricAlgorithm[];
  jwksUri?: URL;
  clockToleranceS: number;
  requireAtJwt: boolean;
  roles?: RolesMapper;
  identifierPrefix: string;
  introspection?: Required<Omit<IntrospectionOptions, 'endpoint'>> & { endpoint?: URL };
  timeoutMs: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  failureBackoffMs: number;
  onIssuerFailure: 'unauthorized' | 'unavailable';
  logger: Logger;
}

function nonNegative(name: string, value: unknown, fallback: number, positive = false): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (positive && n === 0)) {
    throw new InvalidOptionError(name, positive ? 'must be a positive number' : 'must be a non-negative number');
  }
  return n;
}

function httpUrl(name: string, value: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidOptionError(name, 'must be an absolute URL');
  }
  if (typeof value !== 'string' || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new InvalidOptionError(name, 'must be an http(s) URL');
  return url;
}

function parseIntrospection(value: IntrospectionOptions | undefined): OIDCConfig['introspection'] {
  if (value === undefined) return undefined;
  if (!value || typeof value !== 'object') throw new InvalidOptionError('introspection', 'must be an object with clientId and clientSecret');
  checkOptions(value, ['clientId', 'clientSecret', 'endpoint', 'cacheSize', 'cacheMaxTtlMs', 'negativeTtlMs', 'maxConcurrent'], 'introspection');
  for (const name of ['clientId', 'clientSecret'] as const) {
    if (typeof value[name] !== 'string' || value[name] === '') throw new InvalidOptionError(`introspection.${name}`, 'must be a non-empty string');
  }
  const cacheSize = nonNegative('introspection.cacheSize', value.cacheSize, 10_000, true);
  if (!Number.isInteger(cacheSize)) throw new InvalidOptionError('introspection.cacheSize', 'must be a positive integer');
  const maxConcurrent = nonNegative('introspection.maxConcurrent', value.maxConcurrent, 64, true);
  if (!Number.isInteger(maxConcurrent)) throw new InvalidOptionError('introspection.maxConcurrent', 'must be a positive integer');
  return {
    clientId: value.clientId,
    clientSecret: value.clientSecret,
    endpoint: value.endpoint === undefined ? undefined : httpUrl('introspection.endpoint', value.endpoint),
    cacheSize,
    maxConcurrent,
    cacheMaxTtlMs: nonNegative('introspection.cacheMaxTtlMs', value.cacheMaxTtlMs, 60_000),
    negativeTtlMs: nonNegative('introspection.negativeTtlMs', value.negativeTtlMs, 10_000),
  };
}

/** @throws InvalidOptionError naming the option */
export function parseOIDCOptions(options: OIDCBackendOptions): OIDCConfig {
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object with issuer and audience');
  checkOptions(options, ['issuer', 'audience', 'algorithms', 'jwksUri', 'requireAtJwt', 'clockToleranceS', 'roles', 'identifierPrefix', 'introspection', 'timeoutMs', 'jwksCooldownMs', 'jwksMaxAgeMs', 'failureBackoffMs', 'onIssuerFailure', 'logger'], 'OIDCBackend');
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new InvalidOptionError('issuer', 'is required');
  httpUrl('issuer', options.issuer);
  const { audience } = options;
  const audiences = typeof audience === 'string' ? [audience] : audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    throw new InvalidOptionError('audience', 'is required (a non-empty string or array of strings)');
  }
  const algorithms = options.algorithms ?? [...ASYMMETRIC_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))) {
    throw new InvalidOptionError('algorithms', `must list asymmetric algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')})`);
  }
  if (options.roles !== undefined && typeof options.roles !== 'function') throw new InvalidOptionError('roles', 'must be a function');
  if (options.identifierPrefix !== undefined && typeof options.identifierPrefix !== 'string') throw new InvalidOptionError('identifierPrefix', 'must be a string');
  const policy = options.onIssuerFailure ?? 'unavailable';
  if (policy !== 'unauthorized' && policy !== 'unavailable') throw new InvalidOptionError('onIssuerFailure', "must be 'unauthorized' or 'unavailable'");
  return {
    issuer: options.issuer,
    audience,
    algorithms,
    jwksUri: options.jwksUri === undefined ? undefined : httpUrl('jwksUri', options.jwksUri),
    clockToleranceS: nonNegative('clockToleranceS', options.clockToleranceS, 30),
    requireAtJwt: options.requireAtJwt ?? false,
    roles: options.roles,
    identifierPrefix: options.identifierPrefix ?? '',
    introspection: parseIntrospection(options.introspection),
    timeoutMs: nonNegative('timeoutMs', options.timeoutMs, 2000, true),
    jwksCooldownMs: nonNegative('jwksCooldownMs', options.jwksCooldownMs, 30_000),
    jwksMaxAgeMs: nonNegative('jwksMaxAgeMs', options.jwksMaxAgeMs, 600_000, true),
    failureBackoffMs: nonNegative('failureBackoffMs', options.failureBackoffMs, 1000),
    onIssuerFailure: policy,
    logger: options.logger ?? console,
  };
}
