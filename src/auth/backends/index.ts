/** @module The auth backends: who is calling. */
export type { AuthBackend, IdentityKind } from './backend';
export { JWTBackend, bearerToken, MAX_AUTHORIZATION_LENGTH, type AccessTokenValidator } from './jwt-backend';
export { AnnoSessionBackend, type AnnoSessionOptions } from './anno-session-backend';
export { SessionBackend } from './session-backend';
export { IPBackend } from './ip-backend';
export { resolveIdentity, type ResolvedIdentity } from './chain';
export { OIDCBackend, keycloakRoles, claimsToAuthData, ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm, type IntrospectionOptions, type OIDCBackendOptions, type RolesMapper } from '../oidc/index';
