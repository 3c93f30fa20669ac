/**
 * @module The `AuthBackend` interface: one link of the chain that decides who is calling.
 */
import type { Request, Response } from 'express';
import type { AuthData } from '../auth-data';

/** `user` identities are authenticated; `anno` ones are anonymous (session cookie or IP). */
export type IdentityKind = 'user' | 'anno';

/** Resolves the caller of a request, or says "not mine" with null so the chain tries the next backend. */
export interface AuthBackend {
  /** Which namespace this backend's identities live in. */
  readonly kind: IdentityKind;
  /**
   * Never throws on hostile input: a missing, malformed, expired or revoked credential is null.
   * `res` lets a backend issue a cookie.
   */
  authenticate(req: Request, res: Response): AuthData | null | Promise<AuthData | null>;
}
