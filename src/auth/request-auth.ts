/**
 * @module `req.auth` as an accessor on Express's shared request prototype, reading the identity
 * record. Adding an own property to every request gives each one a new hidden class and makes every
 * later property access on it (Express's own included) slower; an accessor adds nothing per request.
 */
import { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import type { AuthData } from './auth-data';
import { getIdentity } from './identity';

/** Prototypes known to carry the accessor; the last one seen is checked first. */
const withAccessor = new WeakSet<object>();
let lastSeen: object | null = null;

const hasOwn = Object.prototype.hasOwnProperty;

const descriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: Request): AuthData | undefined {
    return getIdentity(this)?.auth;
  },
  // Code that assigns req.auth itself (express-jwt, express-basic-auth, tests) gets an own property,
  // as before; identify() removes it when it resolves the request.
  set(this: Request, value: AuthData | undefined) {
    Object.defineProperty(this, 'auth', { value, writable: true, enumerable: true, configurable: true });
  },
};

/**
 * Express's `request` object (shared by every app and sub-app of one express copy) when `req`
 * is an Express request: the prototype of `req.app.request`, itself made from IncomingMessage's.
 */
function expressRequestPrototype(req: Request): object | undefined {
  const appRequest = (req as { app?: { request?: unknown } }).app?.request;
  if (typeof appRequest !== 'object' || appRequest === null) return undefined;
  const shared = Object.getPrototypeOf(appRequest) as object | null;
  if (!shared || Object.getPrototypeOf(shared) !== IncomingMessage.prototype) return undefined;
  return shared;
}

/** True when reading `req.auth` reaches the accessor (installing it on first sight). */
function accessorReaches(req: Request): boolean {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null) return false;
  if (proto === lastSeen) return true;
  // An Express request's prototype is its app's `request` (a sub-app's while inside it), both made
  // from the shared one that carries the accessor.
  const shared = expressRequestPrototype(req);
  if (!shared || (Object.getPrototypeOf(proto) !== shared && proto !== shared)) return false;
  if (!withAccessor.has(shared)) {
    const existing = Object.getOwnPropertyDescriptor(shared, 'auth');
    if (existing && existing.get !== descriptor.get) return false; // someone else's: leave it alone
    if (!existing) Object.defineProperty(shared, 'auth', descriptor);
    withAccessor.add(shared);
  }
  lastSeen = proto;
  return true;
}

/**
 * Makes `req.auth` answer `auth` (the identity just recorded for `req`), and never an `auth`
 * something upstream put there.
 */
export function exposeAuth(req: Request, auth: AuthData | undefined): void {
  if (hasOwn.call(req, 'auth')) delete req.auth;
  if (accessorReaches(req)) return;
  // Not an Express request (node:http, a bare object): an own property.
  if (auth) req.auth = auth;
}
