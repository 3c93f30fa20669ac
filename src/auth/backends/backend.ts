/**
 * @module The `AuthBackend` interface: one link of the chain that decides who is calling.
 */
import type { Request, Response } from 'express';
import type { AuthData } from '../auth-data';

/** `user` identities are authenticated; `anno` ones are anonymous (session cookie or IP). */
export type IdentityKind = 'user' | 'anno';

/**
 * A new anonymous session offered to a caller that has none (issue 8 item 2). Nothing is sent
 * unless a rate limit admits the request: the limiter spends one unit of `budget` in the same store
 * call as the route's rules, and only then calls `onAdmitted()`. So one IP mints at most
 * `budget.limit` sessions per `budget.windowMs`, whatever routes it hits.
 */
export interface SessionOffer {
  /** IP-wide mint budget; keyed by the caller's (IP) identity. */
  readonly budget: { readonly limit: number; readonly windowMs: number };
  /** Called at most once, by the limiter that admitted the request, before headers are written. */
  onAdmitted(): void;
}

/** What a backend answers: the caller, and for a cookie-less anonymous caller possibly a session offer. */
export type AuthResult = AuthData & { offer?: SessionOffer };

/** Resolves the caller of a request, or says "not mine" with null so the chain tries the next backend. */
export interface AuthBackend {
  /** Which namespace this backend's identities live in. */
  readonly kind: IdentityKind;
  /**
   * Never throws on hostile input: a missing, malformed, expired, revoked or unverified credential
   * is null. `res` lets a backend issue a cookie (only through `SessionOffer.onAdmitted`).
   */
  authenticate(req: Request, res: Response): AuthResult | null | Promise<AuthResult | null>;
}
