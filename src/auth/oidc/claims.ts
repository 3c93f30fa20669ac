/**
 * @module Claims of an external issuer → `AuthData`. Claims are copied into fresh objects without
 * `__proto__` members, so a hostile (or merely odd) token cannot change an object's prototype.
 */
import { parseScope, type AuthData } from '../auth-data';
import type { RolesMapper } from './options';

/** Nesting kept when copying claims; deeper members are dropped. */
const MAX_DEPTH = 8;

function own(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, name)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** A deep copy of JSON claims without `__proto__` members (JSON.parse keeps them as own keys). */
export function safeClaims(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((v) => safeClaims(v, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(value)) {
    if (name === '__proto__') continue;
    copy[name] = safeClaims(member, depth + 1);
  }
  return copy;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Keycloak's roles: `realm_access.roles`, plus `resource_access.<clientId>.roles` for each client given.
 * @example new OIDCBackend({ issuer, audience: 'api', roles: keycloakRoles({ clientId: 'api' }) })
 */
export function keycloakRoles(options: { clientId?: string | string[]; realm?: boolean } = {}): RolesMapper {
  const clients = options.clientId === undefined ? [] : ([] as string[]).concat(options.clientId);
  return function keycloakRoles(claims) {
    const roles = options.realm === false ? [] : strings(own(own(claims, 'realm_access'), 'roles'));
    for (const client of clients) roles.push(...strings(own(own(own(claims, 'resource_access'), client), 'roles')));
    return [...new Set(roles)];
  };
}

/** Claims left out of `extra`: they are `identifier` and `scope`. */
const MAPPED = new Set(['sub', 'scope', 'scp']);

/**
 * `AuthData` from verified claims: `identifier` is `sub` (RFC 9068 §2.2: for client-credentials tokens it
 * is the client id; introspection answers without `sub` fall back to `client_id`), `scope` from `scope`
 * (space-delimited) or `scp` (array, Entra ID/Okta), roles (if mapped) in `extra.roles`.
 * @returns null when no subject can be named
 */
export function claimsToAuthData(claims: Record<string, unknown>, roles?: RolesMapper): AuthData | null {
  const safe = safeClaims(claims) as Record<string, unknown>;
  const identifier = typeof safe.sub === 'string' && safe.sub !== '' ? safe.sub : safe.client_id;
  if (typeof identifier !== 'string' || identifier === '') return null;
  const extra: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(safe)) if (!MAPPED.has(name)) extra[name] = value;
  if (roles) extra.roles = roles(safe);
  return { identifier, scope: parseScope(safe.scope ?? safe.scp), extra };
}
