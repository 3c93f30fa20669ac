/** @module External identity providers: OIDC discovery + JWKS, RFC 7662 introspection. */
export { OIDCBackend } from './oidc-backend';
export { keycloakRoles, claimsToAuthData } from './claims';
export { ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm, type IntrospectionOptions, type OIDCBackendOptions, type RolesMapper } from './options';
