/**
 * @module `errorHandler()`: the last Express error middleware. Answers every error as
 * `application/problem+json` (RFC 9457), the same shape as webtool's 429 and 503; expected 4xx
 * answers are not logged, unexpected errors are logged once, redacted, and never described to the client.
 */
import type { ErrorRequestHandler } from 'express';
import { InvalidOptionError } from '../errors';
import { checkOptions } from '../utils/options';
import { errorStatus, toProblem } from './problem';
import { redact } from './redact';

/** Where unexpected errors are logged. */
export interface ErrorLogger {
  error(message: string): void;
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /** Receives one line (plus the redacted stack) per unexpected error. @default console */
  logger?: ErrorLogger;
}

/** One log entry for an unexpected error: name, code, message and stack of it and its causes, redacted. */
function describe(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(`${depth ? 'caused by ' : ''}${current.stack ?? `${current.name}: ${current.message}`}${typeof code === 'string' ? ` [${code}]` : ''}`);
      current = current.cause;
    } else {
      parts.push(`${depth ? 'caused by ' : ''}non-error value of type ${typeof current}`);
      break;
    }
  }
  return redact(parts.join('\n'));
}

/**
 * The error handler to mount last (`app.use(errorHandler())`), after routes and after
 * `useExpressServer(app, { defaultErrorHandler: false, … })`.
 * @throws InvalidOptionError for an unknown option or a logger without `error()`
 * @example app.use(errorHandler());
 */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  checkOptions(options, ['logger'], 'errorHandler');
  const logger = options.logger ?? console;
  if (typeof logger.error !== 'function') throw new InvalidOptionError('logger', 'must have an error(message) method');
  return function errorHandler(err, req, res, next) {
    const status = errorStatus(err);
    if (status >= 500) logger.error(`[webtool] ${req.method} ${req.path}: unexpected error, answered ${status}\n${describe(err)}`);
    if (res.headersSent) {
      // Too late for a problem body; end the exchange instead of leaving the client waiting.
      if (!res.writableEnded) res.destroy();
      return;
    }
    void next;
    res.status(status).type('application/problem+json').send(JSON.stringify(toProblem(err)));
  };
}
