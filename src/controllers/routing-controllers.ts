/**
 * @module Loads routing-controllers on first use: it is an optional peer dependency, so importing
 * webtool's root must work in plain Express apps that don't have it.
 */
import { ConfigurationError } from '../errors';

type RoutingControllers = typeof import('routing-controllers');
let loaded: RoutingControllers | undefined;

export function routingControllers(): RoutingControllers {
  if (!loaded) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('routing-controllers') as RoutingControllers;
    } catch (err) {
      throw new ConfigurationError('the webtool decorators need routing-controllers: npm install routing-controllers', { cause: err });
    }
  }
  return loaded;
}
