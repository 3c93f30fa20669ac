/**
 * @module `SessionBackend`: identifies clients by a session cookie the app already issues (for
 * example express-session's `connect.sid`). Only a hash of the value is used, so raw session ids
 * never reach Redis keys. The value is not verified here: use it for limiting, not for trust.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { InvalidOptionError } from '../../errors';
import type { AuthData } from '../auth-data';
import type { AuthBackend, IdentityKind } from './backend';
import { readCookie } from './cookies';

export class SessionBackend implements AuthBackend {
  readonly kind: IdentityKind;

  /** @param kind `anno` (default) or `user` when the app's session means a logged-in user */
  constructor(readonly sessionName: string, { kind = 'anno' }: { kind?: IdentityKind } = {}) {
    if (typeof sessionName !== 'string' || sessionName.length === 0) throw new InvalidOptionError('sessionName', 'must be a non-empty string');
    if (kind !== 'anno' && kind !== 'user') throw new InvalidOptionError('kind', "must be 'anno' or 'user'");
    this.kind = kind;
  }

  authenticate(req: Request): AuthData | null {
    const value = readCookie(req, this.sessionName);
    if (!value || value.length > 4096) return null;
    const digest = createHash('sha256').update(value).digest('base64url').slice(0, 22);
    return { identifier: `sess:${digest}`, scope: null, extra: {} };
  }
}
