/** @module Runs backends in order; the first that recognises the caller wins. */
import type { Request, Response } from 'express';
import type { AuthData } from '../auth-data';
import type { AuthBackend, IdentityKind, SessionOffer } from './backend';
import { IssuerUnavailableError } from '../../errors';

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
 * backend through `logger`): one faulty backend must not turn every request into a 500.
 */
export async function resolveIdentity(
  backends: readonly AuthBackend[],
  req: Request,
  res: Response,
  logger: { warn(message: string): void } = console,
): Promise<ResolvedIdentity | null> {
  for (const backend of backends) {
    try {
      const result = await backend.authenticate(req, res);
      if (result) {
        const { identifier, scope, extra, offer } = result;
        return { kind: backend.kind, auth: { identifier, scope, extra }, ...(offer ? { offer } : {}) };
      }
    } catch (err) {
      // An external issuer that is down is the one failure a backend may answer with (503, by its policy).
      if (err instanceof IssuerUnavailableError) throw err;
      if (!warned.has(backend)) {
        warned.add(backend);
        logger.warn(`[webtool] ERR_WT_BACKEND_FAILED: ${backend.constructor.name} threw (${(err as Error)?.name ?? 'error'}); treated as no match`);
      }
    }
  }
  return null;
}
