/**
 * @module Maps any error that reaches an error handler to RFC 9457 problem details: webtool errors by
 * their own `toJSON()`, routing-controllers `HttpError`s and http-errors (body-parser) by their status,
 * everything else to a bare 500 that says nothing about the cause.
 */
import { STATUS_CODES } from 'node:http';
import { WebtoolError, type ProblemDetails } from '../errors';

/** A status this handler may answer with: an integer in 400..599. */
function httpStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599 ? value : undefined;
}

/** The status an error asks for: `status` (webtool, http-errors), `httpCode` (routing-controllers), `statusCode`. */
export function errorStatus(err: unknown): number {
  if (err instanceof WebtoolError) return err.status;
  if (typeof err !== 'object' || err === null) return 500;
  const e = err as { status?: unknown; httpCode?: unknown; statusCode?: unknown };
  return httpStatus(e.httpCode) ?? httpStatus(e.status) ?? httpStatus(e.statusCode) ?? 500;
}

/**
 * class-validator failures as `{ property, constraints }` only: a `ValidationError` also carries the
 * rejected `value` and the whole `target` object, which may hold a password.
 */
function validationErrors(err: object): { property: string; constraints?: Record<string, string> }[] | undefined {
  const errors = (err as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  return errors
    .filter((e): e is { property: string; constraints?: Record<string, string> } => typeof e?.property === 'string')
    .map(({ property, constraints }) => (constraints ? { property, constraints } : { property }));
}

/** Problem details safe to send for `err`: no stack, no path, no `cause`, no message of a 5xx. */
export function toProblem(err: unknown): ProblemDetails {
  if (err instanceof WebtoolError) return err.toJSON();
  const status = errorStatus(err);
  const title = STATUS_CODES[status] ?? 'Error';
  if (status >= 500) return { type: 'about:blank', title, status, code: 'ERR_WT_INTERNAL' };
  const e = err as { message?: unknown; expose?: unknown; httpCode?: unknown };
  const problem: ProblemDetails = { type: 'about:blank', title, status, code: 'ERR_WT_HTTP' };
  // routing-controllers HttpErrors are thrown by the app for its clients; http-errors say so by `expose`.
  const exposed = e.httpCode !== undefined || e.expose === true;
  if (exposed && typeof e.message === 'string' && e.message) problem.detail = e.message;
  const errors = validationErrors(err as object);
  if (errors?.length) problem.errors = errors;
  return problem;
}
