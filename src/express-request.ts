/** @module Types `req.auth` (set by `identify()`, or `limitMiddleware` which composes it, for authenticated callers) by augmenting Express.Request. */
import type { AuthData } from './auth/auth-data';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The authenticated caller; undefined for anonymous callers. Set by `identify()` / `limitMiddleware`. */
      auth?: AuthData;
    }
  }
}

export {};
