/**
 * @module `authorizationChecker` and `currentUserChecker` for `useExpressServer(app, { … })`, reading
 * the identity `identify()` (or `limitMiddleware`) already resolved — never verifying a token again.
 * `@Authorized()` answers 401 to callers without a valid credential (anonymous included; plain
 * routing-controllers answers 403 there) and 403 only to authenticated callers lacking a scope.
 */
import type { Action } from 'routing-controllers';
import type { Request, Response } from 'express';
import type { AuthData } from '../auth/auth-data';
import { ForbiddenError } from '../errors';
import { unauthorized } from './unauthorized';

/** scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * True when the caller is authenticated and its scope holds every role.
 * @throws UnauthorizedError (401) for anonymous callers, ForbiddenError (403) for a missing scope
 */
export function authorizationChecker(action: Action, roles: string[]): boolean {
  const req = action.request as Request;
  if (!req.auth) throw unauthorized(req, action.response as Response);
  const missing = roles.filter((role) => !req.auth!.scope?.includes(role));
  if (missing.length) {
    // RFC 6750 §3.1: a valid token without the scope gets 403 with error="insufficient_scope", and
    // the scope needed when every name is a valid scope-token (RFC 6749 §3.3), so the header stays well formed.
    const challenge = roles.every((r) => SCOPE_TOKEN.test(r)) ? `Bearer error="insufficient_scope", scope="${roles.join(' ')}"` : 'Bearer error="insufficient_scope"';
    (action.response as Response).setHeader('WWW-Authenticate', challenge);
    (action.response as Response).type('application/problem+json'); // like 401, 429 and 503
    throw new ForbiddenError(`Missing scope: ${missing.join(', ')}`);
  }
  return true;
}

/** The caller's `AuthData` for `@CurrentUser()`, undefined when anonymous. */
export function currentUserChecker(action: Action): AuthData | undefined {
  return (action.request as Request).auth;
}
