/** @module The auth backends: who is calling. */
export type { AuthBackend, AuthResult, IdentityKind, SessionOffer } from './backend';
export { JWTBackend, bearerToken, MAX_AUTHORIZATION_LENGTH, type AccessTokenValidator } from './jwt-backend';
export { AnnoSessionBackend, DEFAULT_MINT_BUDGET, type AnnoSessionOptions } from './anno-session-backend';
export { SessionBackend, MAX_SESSION_COOKIE_LENGTH, type SessionBackendOptions, type SessionVerifier } from './session-backend';
export { IPBackend } from './ip-backend';
export { OIDCBackend, keycloakRoles, claimsToAuthData, ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm, type IntrospectionOptions, type OIDCBackendOptions, type RolesMapper } from '../oidc/index';
