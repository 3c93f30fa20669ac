/** @module What every token operation works with, built once by the service. */
import type { JWTConfig } from './options';
import type { RevocationRegistry } from './revocation-registry';
import type { SessionPolicy, SessionStore } from './session-store';
import type { AccessPayload, BaseClaims } from './types';
import type { VerifiedTokenCache } from './verified-cache';

export interface TokenContext {
  config: JWTConfig;
  store: SessionStore;
  registry: RevocationRegistry;
  /** The registries of this process's services on the same cache and prefix, this one's included. */
  peers: Set<RevocationRegistry>;
  verified: VerifiedTokenCache<AccessPayload<BaseClaims>>;
}

/** The configured session rules in ms. */
export function policy(config: JWTConfig): SessionPolicy {
  return {
    refreshTtlMs: config.refreshTtlS * 1000,
    toleranceMs: config.clockToleranceS * 1000,
    maxSessions: config.maxSessionsPerSubject,
    graceMs: config.rotationGraceS * 1000,
  };
}

/**
 * Applies revocations a store call caused to this process at once, in every service sharing the
 * cache and prefix (other processes learn them by pub/sub).
 */
export function applyRevocations(ctx: TokenContext, revocations: readonly { kind: 'j' | 'f' | 'g'; id: string; gen?: number; untilMs: number }[]): void {
  for (const registry of ctx.peers) for (const revocation of revocations) registry.add(revocation);
}
