/**
 * @module `@Limiter` for routing-controllers actions. Decorators only record rules (module-private
 * WeakMap); the first one on an action registers ONE `UseBefore` middleware that decides all of the
 * action's rules in one store call at request time.
 */
import type { NextFunction, Request, Response } from 'express';
import { enforceRules } from '../throttle/enforce';
import { createRule, type LimitOptions, type RequestFn, type Rule } from '../throttle/rule';
import { routingControllers } from './routing-controllers';

const actionRules = new WeakMap<object, Map<string, Rule[]>>();

/** The rules recorded for an action (for tests and tooling). */
export function getLimiterRules(target: object, method: string): readonly Rule[] {
  return actionRules.get(target)?.get(method) ?? [];
}

/**
 * At most `maxRequests` per `intervalSeconds` on this action, for the callers `scopes` select.
 * Stackable: several `@Limiter`s on one action are decided together.
 * @example @Get('/api/3/') @Limiter(10, 10, ['user']) resource() { … }
 * @throws InvalidOptionError at class definition for a bad argument
 */
export function Limiter(maxRequests: number | RequestFn<number>, intervalSeconds: number, scopes?: string[], options?: LimitOptions): MethodDecorator {
  const rule = createRule(maxRequests, intervalSeconds, scopes, options);
  return (target: object, propertyKey: string | symbol) => {
    const method = String(propertyKey);
    let byMethod = actionRules.get(target);
    if (!byMethod) actionRules.set(target, (byMethod = new Map()));
    const rules = byMethod.get(method);
    if (rules) {
      rules.push(rule);
      return;
    }
    const recorded = [rule];
    byMethod.set(method, recorded);
    const routeKey = `${(target as { constructor: { name: string } }).constructor.name}.${method}`;
    routingControllers().UseBefore(async function limiter(req: Request, res: Response, next: NextFunction) {
      try {
        if ((await enforceRules(req, res, recorded, routeKey)) === 'next') next();
      } catch (err) {
        next(err);
      }
    })(target, propertyKey as string);
  };
}
