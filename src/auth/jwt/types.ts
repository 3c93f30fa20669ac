/** @module Token and claim types shared by the JWT operations. */

/** Claims a caller gives to `createToken`: a string `sub` and anything JSON-serialisable. */
export interface BaseClaims {
  sub: string;
  [claim: string]: unknown;
}

/** Registered claims every issued token carries. */
export interface IssuedClaims {
  iat: number;
  exp: number;
  jti: string;
  /** Family id: one per login, constant across rotations. */
  fid: string;
  /** Family generation: 0 at login, +1 per rotation; access tokens of earlier generations are revoked. */
  fgen: number;
  token_type: 'access' | 'refresh';
  iss?: string;
  aud?: string | string[];
}

/** A verified access token's payload. */
export type AccessPayload<C extends BaseClaims = BaseClaims> = C & IssuedClaims & { token_type: 'access' };
/** A verified refresh token's payload. */
export type RefreshPayload<C extends BaseClaims = BaseClaims> = C & IssuedClaims & { token_type: 'refresh' };

/** `typ` header values (RFC 9068 names access tokens `at+jwt`). */
export const TOKEN_TYP = { access: 'at+jwt', refresh: 'rt+jwt' } as const;

/** Claims the service sets itself; a caller's copies are dropped. */
export const RESERVED_CLAIMS: readonly string[] = ['iat', 'exp', 'nbf', 'jti', 'fid', 'fgen', 'token_type', 'iss', 'aud'];

/** Member names never copied into a claims object: assigning them would replace its prototype. */
export const UNSAFE_MEMBERS: readonly string[] = ['__proto__', 'constructor', 'prototype'];
