/** @module Types `req.auth` (set by `limitMiddleware` for authenticated callers) by augmenting Express.Request. */
import type { AuthData } from './auth/auth-data';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The authenticated caller; undefined for anonymous callers. Set by `limitMiddleware`. */
      auth?: AuthData;
    }
  }
}

export {};
