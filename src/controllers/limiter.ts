/**
 * @module `@Limiter` for routing-controllers actions. Decorators only record rules (module-private
 * WeakMap); the first one on an action registers ONE `UseBefore` middleware — the same
 * `rulesMiddleware` that `limiter()` uses — deciding all of the action's rules in one store call.
 * Budgets are keyed by the route Express matched (route prefix, controller and action routes, method),
 * never by the class name, which two controllers (or a minifier) can share (issue 8 item 13).
 */
import { rulesMiddleware } from '../throttle/limiter';
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
      rules.push(rule); // the middleware registered below holds this array: stacked rules join it
      return;
    }
    const recorded = [rule];
    byMethod.set(method, recorded);
    routingControllers().UseBefore(rulesMiddleware(recorded))(target, propertyKey as string);
  };
}
