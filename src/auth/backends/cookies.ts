/** @module Reads request cookies with the `cookie` package; hostile headers give no cookies, never a throw. */
import type { Request } from 'express';
import { parse } from 'cookie';

/** Cookie headers longer than this are ignored (browsers send at most a few KB). */
export const MAX_COOKIE_HEADER = 16_384;

/** The value of cookie `name` (the first one when a client sends the name twice), or undefined. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return undefined;
  try {
    return parse(header)[name];
  } catch {
    return undefined;
  }
}
