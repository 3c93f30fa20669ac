/**
 * @module `SessionBackend`: identifies clients by a session cookie the app already issues (for
 * example express-session's `connect.sid`), and only once `verify` has confirmed the session
 * (issue 8 item 3: made-up cookie values passed `@Authorized()` and bought fresh budgets). An
 * unverified value is never a user and never a budget of its own: the chain goes on to the next
 * backend (e.g. `IPBackend`, or the IP fallback of `identify()`).
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { InvalidOptionError } from '../../errors';
import type { AuthData } from '../auth-data';
import type { AuthBackend, IdentityKind } from './backend';
import { readCookie } from './cookies';
import { checkOptions } from '../../utils/options';

/** Longer cookie values are not even looked up. */
export const MAX_SESSION_COOKIE_LENGTH = 4096;

/**
 * Confirms a session cookie value (as the client sent it, URI-decoded) — e.g. unsign it and look it
 * up in your session store. Answers the caller's `AuthData`, or null for an unknown, expired or
 * forged session. Called at most once per request.
 */
export type SessionVerifier = (value: string, req: Request) => AuthData | null | undefined | Promise<AuthData | null | undefined>;

/** Options of `SessionBackend`. */
export interface SessionBackendOptions {
  /** Required: confirms the session behind a cookie value; see `SessionVerifier`. */
  verify: SessionVerifier;
  /**
   * `user` when a verified session means a logged-in user (`req.auth` is what `verify` answered,
   * counted as `u:<identifier>`); `anno` to count verified anonymous sessions (by a hash of the value).
   * @default 'anno'
   */
  kind?: IdentityKind;
}

/**
 * @example new SessionBackend('connect.sid', { kind: 'user', verify: (value) => lookUpSession(value) })
 * @throws InvalidOptionError for a bad name, kind, or a missing `verify`
 */
export class SessionBackend implements AuthBackend {
  readonly kind: IdentityKind;
  private readonly verify: SessionVerifier;

  constructor(readonly sessionName: string, options: SessionBackendOptions) {
    if (typeof sessionName !== 'string' || sessionName.length === 0) throw new InvalidOptionError('sessionName', 'must be a non-empty string');
    checkOptions(options, ['verify', 'kind'], 'SessionBackend');
    const { kind = 'anno', verify } = (options ?? {}) as Partial<SessionBackendOptions>;
    if (typeof verify !== 'function') {
      throw new InvalidOptionError('verify', 'is required: a function (cookieValue, req) => AuthData | null that confirms the session (e.g. a session store lookup)');
    }
    if (kind !== 'anno' && kind !== 'user') throw new InvalidOptionError('kind', "must be 'anno' or 'user'");
    this.kind = kind;
    this.verify = verify;
  }

  async authenticate(req: Request): Promise<AuthData | null> {
    const value = readCookie(req, this.sessionName);
    if (!value || value.length > MAX_SESSION_COOKIE_LENGTH) return null;
    const verified = await this.verify(value, req);
    if (!verified || typeof verified.identifier !== 'string' || verified.identifier.length === 0) return null;
    if (this.kind === 'user') return { identifier: verified.identifier, scope: verified.scope ?? null, extra: verified.extra ?? {} };
    // Only a hash of the value reaches keys, never a raw session id.
    const digest = createHash('sha256').update(value).digest('base64url').slice(0, 22);
    return { identifier: `sess:${digest}`, scope: null, extra: {} };
  }
}
