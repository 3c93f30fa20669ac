/** @module What every token operation works with, built once by the service. */
import type { JWTConfig } from './options';
import type { RevocationRegistry } from './revocation-registry';
import type { Lifetimes, SessionStore } from './session-store';
import type { AccessPayload, BaseClaims } from './types';
import type { VerifiedTokenCache } from './verified-cache';

export interface TokenContext {
  config: JWTConfig;
  store: SessionStore;
  registry: RevocationRegistry;
  verified: VerifiedTokenCache<AccessPayload<BaseClaims>>;
}

/** The configured lifetimes in ms. */
export function lifetimes(config: JWTConfig): Lifetimes {
  return { refreshTtlMs: config.refreshTtlS * 1000, accessTtlMs: config.accessTtlS * 1000 };
}
