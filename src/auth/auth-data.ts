/**
 * @module `AuthData`: who the caller is, as the decorators and handlers see it.
 * The shape is the JSON the seed's `/get_user/` returns: `{ identifier, scope, extra }`.
 */

/** The authenticated caller. */
export interface AuthData {
  /** The subject (`sub` claim). */
  identifier: string;
  /** The `scope` claim as a list (array claims and space-delimited strings both); null when absent. */
  scope: string[] | null;
  /** Every other claim (exp, iat, jti, and the caller's own), without webtool's internal ones. */
  extra: Record<string, unknown>;
}

/** Claims webtool adds for its own bookkeeping; never shown in `AuthData.extra`. */
export const INTERNAL_CLAIMS: readonly string[] = ['token_type', 'fid', 'fgen'];

/** Member names never copied: assigning `__proto__` would replace the object's prototype (issue 8 item 8). */
const UNSAFE_MEMBERS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * Normalises a `scope` claim. Accepted forms: a space-delimited string (`"read write"`, RFC 8693 §4.2,
 * RFC 9068) or an array of strings (`["read", "write"]`, as `scp` in some issuers); empty members and
 * non-string array members are dropped; anything else is no scope (null).
 */
export function parseScope(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string' && s.length > 0);
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return null;
}

/** Builds `AuthData` from a verified token payload; `extra` never takes a prototype from a claim. */
export function toAuthData(payload: { sub: string } & Record<string, unknown>): AuthData {
  const extra: Record<string, unknown> = {};
  // Object.keys, not entries: no [name, value] pair allocated per claim on every request.
  for (const name of Object.keys(payload)) {
    if (name !== 'sub' && name !== 'scope' && !INTERNAL_CLAIMS.includes(name) && !UNSAFE_MEMBERS.includes(name)) extra[name] = payload[name];
  }
  return { identifier: payload.sub, scope: parseScope(payload.scope), extra };
}
