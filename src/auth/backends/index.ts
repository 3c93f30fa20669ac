/** @module The auth backends: who is calling. */
export type { AuthBackend, IdentityKind } from './backend';
export { JWTBackend, bearerToken, MAX_AUTHORIZATION_LENGTH, type AccessTokenValidator } from './jwt-backend';
export { AnnoSessionBackend, type AnnoSessionOptions } from './anno-session-backend';
export { SessionBackend } from './session-backend';
export { IPBackend } from './ip-backend';
