/** @module Reads request cookies with the `cookie` package; hostile headers give no cookies, never a throw. */
import type { Request } from 'express';
import { parse } from 'cookie';

/** Cookie headers longer than this are ignored (browsers send at most a few KB). */
export const MAX_COOKIE_HEADER = 16_384;

/**
 * The value of cookie `name` (the first one when a client sends the name twice), or undefined. A value
 * in double quotes is the same value (RFC 6265 §4.1.1: the quotes are not part of it; express-session
 * strips them too): otherwise `"v"` and `v` would be one session but two rate-limit budgets.
 */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return undefined;
  try {
    const value = parse(header)[name];
    return value !== undefined && value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  } catch {
    return undefined;
  }
}
