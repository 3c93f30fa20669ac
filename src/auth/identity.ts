/**
 * @module The identity `identify()` resolved for a request, kept in a module-private WeakMap so
 * nothing a client or an upstream middleware puts on `req` can forge it. Limiters read it here;
 * auth knows nothing of limits.
 */
import type { Request } from 'express';
import type { AuthData } from './auth-data';
import type { IdentityKind, SessionOffer } from './backends/backend';

/** The caller of one request, as resolved once by `identify()`. */
export interface Identity {
  readonly kind: IdentityKind;
  /**
   * What limits count: `u:<subject>` for users, `a:s:<session>`, `a:sess:<hash>` or `a:ip:<address
   * or IPv6 prefix>` for anonymous callers — separate namespaces.
   */
  readonly key: string;
  /** The scope of an authenticated caller; null for anonymous ones. */
  readonly scope: string[] | null;
  /** The authenticated caller (`req.auth`); undefined for anonymous ones. */
  readonly auth?: AuthData;
  /** A session offered to a cookie-less anonymous caller, minted only where a limit admits the request. */
  readonly offer?: SessionOffer;
}

/**
 * Everything webtool keeps per request, in ONE WeakMap entry: the identity, and the limit
 * configuration `limitMiddleware` attaches (typed in throttle/context.ts; auth knows nothing of it).
 */
export interface RequestRecord {
  identity: Identity;
  engine: unknown;
}

const records = new WeakMap<object, RequestRecord>();

/**
 * The identity `identify()` (or `limitMiddleware`) resolved for `req`; undefined before it ran.
 * @example const who = getIdentity(req)?.key
 */
export function getIdentity(req: Request): Identity | undefined {
  return records.get(req)?.identity;
}

/** The record of `req` (internal: the limiters read their configuration from it). */
export function recordOf(req: object): RequestRecord | undefined {
  return records.get(req);
}

/** Records the identity of `req`, once (used by `identify()` only; not exported from the package). */
export function setIdentity(req: Request, identity: Identity): void {
  records.set(req, { identity, engine: undefined });
}
