/**
 * @module `AnnoSessionBackend`: anonymous clients, identified by a signed, server-issued session
 * cookie. A client without a valid cookie gets one and is counted by IP (IPv6 by /56) until it sends
 * it back — so a client that drops or forges cookies is still limited (the Python original let such
 * clients through, and accepted any cookie value, so one could spend a victim's quota).
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { serialize } from 'cookie';
import { InvalidOptionError } from '../../errors';
import { ipKey } from '../../utils/ip-key';
import type { AuthData } from '../auth-data';
import type { AuthBackend } from './backend';
import { readCookie } from './cookies';
import { isValidId, randomId, sign, unsign } from './signed-id';
import { checkOptions } from '../../utils/options';

/** Options of `AnnoSessionBackend`. */
export interface AnnoSessionOptions {
  /** Cookie name; a `__Host-` name is fine (it needs `secure`). @default 'th-session' */
  sessionName?: string;
  /** Cookie lifetime in seconds. @default 1209600 (14 days) */
  maxAge?: number;
  /** Send the cookie over HTTPS only. Disable for local HTTP only. @default true */
  secure?: boolean;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /**
   * HMAC key for session ids (≥ 32 bytes). Give one shared by every process: without it a random
   * per-process key is used, and sessions survive neither a restart nor a hop to another process.
   */
  secret?: string | Buffer;
  /** Makes session ids (16–64 URL-safe characters; anything else falls back to a random id). */
  sessionFactory?: () => string;
  /** IPv6 prefix length clients without a session are grouped by. @default 56 */
  ipv6Subnet?: number | false;
  /** @default console */
  logger?: { warn(message: string): void };
}

let warnedEphemeral = false;
/** Answers that must not hand out a session: a denied request would otherwise buy a fresh budget. */
const NO_SESSION_STATUSES = new Set([429, 503]);

/**
 * Adds the session cookie as the response's headers are written — unless the answer is a 429 or 503.
 * Otherwise every denied cookie-less request would hand out a fresh session with a full budget of
 * its own, and one client could farm sessions without limit.
 */
function setCookieUnlessDenied(res: Response, cookie: string): void {
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadWithSession(this: Response, ...args: unknown[]) {
    const status = typeof args[0] === 'number' ? args[0] : this.statusCode;
    if (!NO_SESSION_STATUSES.has(status)) this.append('Set-Cookie', cookie);
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
}

/**
 * @example new AnnoSessionBackend({ secret: process.env.SESSION_SECRET, secure: process.env.NODE_ENV === 'production' })
 * @throws InvalidOptionError for a bad option
 */
export class AnnoSessionBackend implements AuthBackend {
  readonly kind = 'anno' as const;
  readonly sessionName: string;
  private readonly secret: Buffer;
  private readonly cookieOptions: Parameters<typeof serialize>[2];
  private readonly factory: () => string;
  private readonly ipv6Subnet: number | false;

  constructor(options: AnnoSessionOptions = {}) {
    checkOptions(options, ['sessionName', 'maxAge', 'secure', 'sameSite', 'secret', 'sessionFactory', 'ipv6Subnet', 'logger'], 'AnnoSessionBackend');
    const { sessionName = 'th-session', maxAge = 14 * 24 * 3600, secure = true, sameSite = 'lax', secret, sessionFactory, ipv6Subnet = 56 } = options;
    if (typeof sessionName !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(sessionName)) {
      throw new InvalidOptionError('sessionName', 'must be a cookie name (RFC 6265 token)');
    }
    if (sessionName.startsWith('__Host-') && !secure) throw new InvalidOptionError('secure', 'a __Host- cookie must be secure');
    if (sessionName.startsWith('__Secure-') && !secure) throw new InvalidOptionError('secure', 'a __Secure- cookie must be secure');
    if (!Number.isInteger(maxAge) || maxAge <= 0) throw new InvalidOptionError('maxAge', 'must be a positive integer (seconds)');
    if (!['lax', 'strict', 'none'].includes(sameSite)) throw new InvalidOptionError('sameSite', "must be 'lax', 'strict' or 'none'");
    if (sameSite === 'none' && !secure) throw new InvalidOptionError('sameSite', "'none' needs secure cookies");
    if (sessionFactory !== undefined && typeof sessionFactory !== 'function') throw new InvalidOptionError('sessionFactory', 'must be a function');
    if (secret !== undefined) {
      const bytes = Buffer.from(secret);
      if (bytes.length < 32) throw new InvalidOptionError('secret', 'must be at least 32 bytes');
      this.secret = bytes;
    } else {
      this.secret = randomBytes(32);
      if (!warnedEphemeral) {
        warnedEphemeral = true;
        (options.logger ?? console).warn('[webtool] ERR_WT_EPHEMERAL_SESSION_SECRET: AnnoSessionBackend has no secret; sessions last for this process only');
      }
    }
    this.sessionName = sessionName;
    this.cookieOptions = { httpOnly: true, secure, sameSite, path: '/', maxAge };
    this.factory = sessionFactory ?? randomId;
    this.ipv6Subnet = ipv6Subnet;
  }

  authenticate(req: Request, res: Response): AuthData {
    const id = unsign(this.secret, readCookie(req, this.sessionName));
    if (id) return { identifier: `s:${id}`, scope: null, extra: {} };
    if (!res.headersSent) {
      let fresh = this.factory();
      if (!isValidId(fresh)) fresh = randomId();
      setCookieUnlessDenied(res, serialize(this.sessionName, sign(this.secret, fresh), this.cookieOptions));
    }
    return { identifier: `ip:${ipKey(req.ip, { ipv6Subnet: this.ipv6Subnet })}`, scope: null, extra: {} };
  }
}
