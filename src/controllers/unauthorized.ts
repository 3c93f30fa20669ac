/** @module Builds the 401 answer with its RFC 6750 challenge. */
import type { Request, Response } from 'express';
import { bearerToken } from '../auth/backends/jwt-backend';
import { UnauthorizedError } from '../errors';

/** Sets `WWW-Authenticate: Bearer` (with `error="invalid_token"` when a token was sent but refused) and returns the error to throw. */
export function unauthorized(req: Request, res: Response): UnauthorizedError {
  const presented = bearerToken(req) !== null;
  res.setHeader('WWW-Authenticate', presented ? 'Bearer error="invalid_token"' : 'Bearer');
  // problem+json like 429 and 503, also when routing-controllers' own handler serialises it (res.json keeps a set type).
  res.type('application/problem+json');
  return new UnauthorizedError(presented ? 'The access token is invalid, expired or revoked' : 'Authentication required');
}
