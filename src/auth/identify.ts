/**
 * @module `identify()`: the one middleware that resolves the caller, once per request. It sets
 * `req.auth` for authenticated callers (and removes any `req.auth` an upstream middleware set), and
 * records the identity limits count (`getIdentity(req)`). `@CurrentAuth`, `@Authorized` and the
 * checkers need nothing else; `limitMiddleware` composes it.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthData } from './auth-data';
import { InvalidOptionError } from '../errors';
import { ipKey, parseIpv6Subnet } from '../utils/ip-key';
import { AnnoSessionBackend } from './backends/anno-session-backend';
import type { AuthBackend } from './backends/backend';
import { resolveIdentity, type ResolvedIdentity } from './backends/chain';
import { getIdentity, setIdentity, type Identity } from './identity';
import { isThenable, whenSettled } from '../utils/maybe-async';
import { checkOptions } from '../utils/options';

/** Options of `identify()`. */
export interface IdentifyOptions {
  /** Tried in order; the first that recognises the caller wins. None: every caller is anonymous, by IP. @default [] */
  backends?: AuthBackend[];
  /** IPv6 prefix length of the IP fallback (callers no backend recognises). An integer 1–128 or false. @default 56 */
  ipv6Subnet?: number | false;
  /** Where a failing backend is reported (once per backend). @default console */
  logger?: { warn(message: string): void };
}

/** The parsed options: a function resolving (or reusing) the identity of a request. */
export type Identifier = (req: Request, res: Response) => Identity | Promise<Identity>;

/** True for an object with `authenticate()` and a `kind` of 'user' or 'anno'. */
export function isBackend(value: unknown): value is AuthBackend {
  return !!value && typeof (value as AuthBackend).authenticate === 'function' && ((value as AuthBackend).kind === 'user' || (value as AuthBackend).kind === 'anno');
}

/**
 * The chain `limitMiddleware` has always built from `authBackend` + `annoBackend` (kept for backward
 * compatibility): the anonymous backend defaults to an `AnnoSessionBackend`.
 * @throws InvalidOptionError naming the option
 */
export function legacyChain(options: { authBackend?: AuthBackend; annoBackend?: AuthBackend | false; ipv6Subnet?: number | false; logger?: { warn(message: string): void } }): AuthBackend[] {
  const { authBackend, annoBackend } = options;
  if (authBackend !== undefined && !isBackend(authBackend)) throw new InvalidOptionError('authBackend', 'must be an AuthBackend');
  if (annoBackend !== undefined && annoBackend !== false && !isBackend(annoBackend)) throw new InvalidOptionError('annoBackend', 'must be an AuthBackend or false');
  const anno = annoBackend === undefined ? new AnnoSessionBackend({ logger: options.logger, ipv6Subnet: options.ipv6Subnet }) : annoBackend;
  return [authBackend, anno].filter(isBackend);
}

/**
 * Parses the options once and returns the resolver: it reuses an identity already resolved for the
 * request (so `identify()` twice, or `identify()` then `limitMiddleware`, resolves once).
 * @throws InvalidOptionError naming the option
 */
export function createIdentifier(options: IdentifyOptions = {}): Identifier {
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
  const { backends = [] } = options;
  if (!Array.isArray(backends) || !backends.every(isBackend)) throw new InvalidOptionError('backends', 'must be an array of AuthBackend');
  const ipv6Subnet = parseIpv6Subnet(options.ipv6Subnet);
  const logger = options.logger ?? console;
  if (typeof logger.warn !== 'function') throw new InvalidOptionError('logger', 'must have a warn(message) method');
  const chain = [...backends];
  const record = (req: Request, resolved: ResolvedIdentity | null): Identity => {
    let identity: Identity;
    if (resolved?.kind === 'user') identity = { kind: 'user', key: `u:${resolved.auth.identifier}`, scope: resolved.auth.scope, auth: resolved.auth };
    else if (resolved) identity = { kind: 'anno', key: `a:${resolved.auth.identifier}`, scope: null, ...(resolved.offer ? { offer: resolved.offer } : {}) };
    // The one IP fallback: callers no backend recognises are counted by address (IPv6 by prefix).
    else identity = { kind: 'anno', key: `a:ip:${ipKey(req.ip, { ipv6Subnet })}`, scope: null };
    setIdentity(req, identity);
    exposeAuth(req, identity.auth);
    return identity;
  };
  // Synchronous when every backend consulted answers synchronously (a reused token): no await.
  return function resolve(req: Request, res: Response): Identity | Promise<Identity> {
    const known = getIdentity(req);
    if (known) {
      // Never trust an `auth` something upstream (or in between) put on the request.
      exposeAuth(req, known.auth);
      return known;
    }
    const resolved = resolveIdentity(chain, req, res, logger);
    return isThenable(resolved) ? Promise.resolve(resolved).then((r) => record(req, r)) : record(req, resolved);
  };
}

/**
 * Sets `req.auth` to the recorded caller, an own property as every middleware expects (`delete
 * req.auth` downgrades, `'auth' in req` tells); never an `auth` something upstream put there.
 */
function exposeAuth(req: Request, auth: AuthData | undefined): void {
  if (auth) req.auth = auth;
  else if (Object.prototype.hasOwnProperty.call(req, 'auth')) delete req.auth;
}

/**
 * The authentication middleware: resolves the caller once per request, sets `req.auth` for
 * authenticated callers, and records the identity limits count. Idempotent when registered twice.
 * Register it before your routes (and before `useExpressServer`). Needs no cache.
 * @example app.use(identify({ backends: [new JWTBackend(jwtService)] }))
 * @throws InvalidOptionError at creation for a bad option
 */
export function identify(options: IdentifyOptions = {}): RequestHandler {
  checkOptions(options, ['backends', 'ipv6Subnet', 'logger'], 'identify');
  const resolve = createIdentifier(options);
  return function identify(req: Request, res: Response, next: NextFunction): void {
    whenSettled(() => resolve(req, res), () => next(), next);
  };
}
