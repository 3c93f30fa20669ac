/** @module Runs backends in order; the first that recognises the caller wins. */
import type { Request, Response } from 'express';
import type { AuthData } from '../auth-data';
import type { AuthBackend, AuthResult, IdentityKind, SessionOffer } from './backend';
import { IssuerUnavailableError } from '../../errors';
import { isThenable } from '../../utils/maybe-async';

/** The caller as resolved by the chain. */
export interface ResolvedIdentity {
  kind: IdentityKind;
  auth: AuthData;
  /** Set by an anonymous session backend for a caller without a valid session. */
  offer?: SessionOffer;
}

const warned = new WeakSet<AuthBackend>();

/**
 * First non-null answer wins. A backend that throws is treated as "not mine" (warned once per
 * backend through `logger`): one faulty backend must not turn every request into a 500. Backends
 * that answer synchronously are run without an await: a promise is returned only once one does.
 */
export function resolveIdentity(
  backends: readonly AuthBackend[],
  req: Request,
  res: Response,
  logger: { warn(message: string): void } = console,
): ResolvedIdentity | null | Promise<ResolvedIdentity | null> {
  return resolveFrom(backends, 0, req, res, logger);
}

function resolveFrom(backends: readonly AuthBackend[], from: number, req: Request, res: Response, logger: { warn(message: string): void }): ResolvedIdentity | null | Promise<ResolvedIdentity | null> {
  for (let i = from; i < backends.length; i++) {
    const backend = backends[i];
    let result: ReturnType<AuthBackend['authenticate']>;
    try {
      result = backend.authenticate(req, res);
    } catch (err) {
      failed(backend, err, logger);
      continue;
    }
    if (isThenable(result)) {
      const next = () => resolveFrom(backends, i + 1, req, res, logger);
      return Promise.resolve(result).then(
        (answer) => (answer ? resolved(backend, answer) : next()),
        (err: unknown) => (failed(backend, err, logger), next()),
      );
    }
    if (result) return resolved(backend, result);
  }
  return null;
}

function resolved(backend: AuthBackend, result: AuthResult): ResolvedIdentity {
  const { identifier, scope, extra, offer } = result;
  return { kind: backend.kind, auth: { identifier, scope, extra }, ...(offer ? { offer } : {}) };
}

/** An external issuer that is down is the one failure a backend may answer with (503, by its policy). */
function failed(backend: AuthBackend, err: unknown, logger: { warn(message: string): void }): void {
  if (err instanceof IssuerUnavailableError) throw err;
  if (!warned.has(backend)) {
    warned.add(backend);
    logger.warn(`[webtool] ERR_WT_BACKEND_FAILED: ${backend.constructor.name} threw (${(err as Error)?.name ?? 'error'}); treated as no match`);
  }
}
