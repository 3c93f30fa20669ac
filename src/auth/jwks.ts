/**
 * @module The public JWK Set of our own signing keys (RFC 7517 §5) and the Express handler that serves
 * it, so other services (or an `OIDCBackend`) can verify our tokens. HMAC secrets are never published.
 */
import type { Request, RequestHandler, Response } from 'express';
import { exportJWK, type JWK } from 'jose';
import { InvalidOptionError } from '../errors';
import type { JWTConfig, OwnKey } from './jwt/options';
import { checkOptions } from '../utils/options';

/** A JWK Set. */
export interface JWKSet {
  keys: JWK[];
}

/**
 * The public keys of `config` (current first, then previous ones), each with `kid`, `alg` and `use: 'sig'`.
 * Symmetric (HMAC) keys are left out: a service signing with HS* publishes an empty set.
 */
export async function publicJwks(config: Pick<JWTConfig, 'key' | 'previousKeys'>): Promise<JWKSet> {
  const own: OwnKey[] = [config.key, ...config.previousKeys];
  const keys = await Promise.all(
    own
      .filter((k) => !k.symmetric)
      .map(async (k) => ({ ...(await exportJWK(k.verifyKey)), ...(k.kid ? { kid: k.kid } : {}), alg: k.algorithm, use: 'sig' })),
  );
  return { keys };
}

/** Options of `jwksHandler`. */
export interface JwksHandlerOptions {
  /** `Cache-Control: public, max-age=…` in seconds; keep it under the time a retired key stays published. @default 300 */
  maxAgeS?: number;
}

/**
 * Serves `service.jwks()` (mount it at `/.well-known/jwks.json`). The set is computed once: keys are
 * fixed for a service's lifetime.
 * @example app.get('/.well-known/jwks.json', jwksHandler(jwtService))
 * @throws InvalidOptionError for a service without `jwks()` or a bad `maxAgeS`
 */
export function jwksHandler(service: { jwks(): Promise<JWKSet> }, options: JwksHandlerOptions = {}): RequestHandler {
  if (!service || typeof service.jwks !== 'function') throw new InvalidOptionError('service', 'must be a JWTService (with jwks())');
  checkOptions(options, ['maxAgeS'], 'jwksHandler');
  const maxAgeS = options.maxAgeS ?? 300;
  if (!Number.isInteger(maxAgeS) || maxAgeS < 0) throw new InvalidOptionError('maxAgeS', 'must be a non-negative integer');
  let body: Promise<string> | undefined;
  return function jwksHandler(_req: Request, res: Response): void {
    body ??= service.jwks().then((set) => JSON.stringify(set));
    body.then(
      (json) => {
        res.set('Cache-Control', `public, max-age=${maxAgeS}`).type('application/json').send(json);
      },
      () => {
        body = undefined;
        res.status(500).end();
      },
    );
  };
}
