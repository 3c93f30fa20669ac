/**
 * @module `webtoolErrorHandler()`: {@link errorHandler} as a routing-controllers error middleware.
 * The class is made and registered (`@Middleware({ type: 'after' })`) when called, not at import:
 * routing-controllers applies every registered middleware to apps that list none, and it is an
 * optional peer.
 */
import type { NextFunction, Request, Response } from 'express';
import { errorHandler, type ErrorHandlerOptions } from '../express/error-handler';
import { routingControllers } from './routing-controllers';

/** The shape routing-controllers calls for an `after` error middleware. */
export interface ErrorMiddlewareClass {
  new (): { error(error: unknown, req: Request, res: Response, next: NextFunction): void };
}

/**
 * A routing-controllers error middleware class answering problem+json; list it in `middlewares` and
 * turn the default handler off, or routing-controllers answers first (and, outside production,
 * sends the stack of unexpected errors).
 * @throws InvalidOptionError for an unknown option
 * @example useExpressServer(app, { controllers, middlewares: [webtoolErrorHandler()], defaultErrorHandler: false });
 */
export function webtoolErrorHandler(options: ErrorHandlerOptions = {}): ErrorMiddlewareClass {
  const handle = errorHandler(options);
  class WebtoolErrorHandler {
    error(error: unknown, req: Request, res: Response, next: NextFunction): void {
      handle(error, req, res, next);
    }
  }
  routingControllers().Middleware({ type: 'after' })(WebtoolErrorHandler);
  return WebtoolErrorHandler;
}
