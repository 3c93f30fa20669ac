/** @module `@CurrentAuth()`: injects the caller's `AuthData` (resolved once by `identify()` or `limitMiddleware`). */
import type { Request, Response } from 'express';
import { routingControllers } from './routing-controllers';
import { unauthorized } from './unauthorized';

const requiredAuth = new WeakMap<object, Set<string>>();

/**
 * The `AuthData` of the caller, undefined for anonymous callers; with `required: true` anonymous
 * callers get 401 with `WWW-Authenticate: Bearer`.
 * @example getUser(@CurrentAuth({ required: true }) auth: AuthData) { return auth }
 */
export function CurrentAuth(options: { required?: boolean } = {}): (object: object, method: string, index: number) => void {
  const decorate = routingControllers().createParamDecorator({
    value: (action) => {
      const req = action.request as Request;
      if (!req.auth && options.required) throw unauthorized(req, action.response as Response);
      return req.auth;
    },
  });
  if (!options.required) return decorate;
  return (object, method, index) => {
    let methods = requiredAuth.get(object);
    if (!methods) requiredAuth.set(object, (methods = new Set()));
    methods.add(method);
    decorate(object, method, index);
  };
}

/** Whether an action takes `@CurrentAuth({ required: true })` (for the OpenAPI document and tooling). */
export function requiresAuth(target: object, method: string): boolean {
  return requiredAuth.get(target)?.has(method) ?? false;
}
