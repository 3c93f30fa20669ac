/** @module webtool/auth: tokens, auth data and the backends that resolve the caller. */
export { JWTService } from './jwt-service';
export { RedisJWTService } from './redis-jwt-service';
export type { JWTServiceOptions } from './jwt/options';
export type { PreviousKey } from './jwt/options';
export { jwksHandler, type JWKSet, type JwksHandlerOptions } from './jwks';
export type { AccessPayload, BaseClaims, IssuedClaims, RefreshPayload } from './jwt/types';
export { TOKEN_TYP } from './jwt/types';
export { MAX_TOKEN_LENGTH } from './jwt/verify';
export { toAuthData, parseScope, INTERNAL_CLAIMS, type AuthData } from './auth-data';
export * from './backends/index';
export { identify, type IdentifyOptions } from './identify';
export { getIdentity, type Identity } from './identity';
export * from '../errors';
