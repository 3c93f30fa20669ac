/** @module `@CurrentAuth()`: injects the caller's `AuthData` (resolved once by `identify()` or `limitMiddleware`). */
import type { Request, Response } from 'express';
import { routingControllers } from './routing-controllers';
import { unauthorized } from './unauthorized';

/**
 * The `AuthData` of the caller, undefined for anonymous callers; with `required: true` anonymous
 * callers get 401 with `WWW-Authenticate: Bearer`.
 * @example getUser(@CurrentAuth({ required: true }) auth: AuthData) { return auth }
 */
export function CurrentAuth(options: { required?: boolean } = {}): (object: object, method: string, index: number) => void {
  return routingControllers().createParamDecorator({
    value: (action) => {
      const req = action.request as Request;
      if (!req.auth && options.required) throw unauthorized(req, action.response as Response);
      return req.auth;
    },
  });
}
