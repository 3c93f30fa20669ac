/**
 * @module `AnnoSessionBackend`: anonymous clients, identified by a signed, server-issued session
 * cookie. A client without a valid cookie is counted by IP (IPv6 by /56) and is OFFERED a session:
 * the cookie is sent only when a rate limit admitted the request and the answer succeeded, and one
 * IP mints at most `mintBudget.limit` sessions per window (issue 8 item 2: farming cookies on
 * unlimited routes and 404s bought fresh budgets). A client that drops or forges cookies is still
 * limited by IP.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { serialize } from 'cookie';
import { InvalidOptionError } from '../../errors';
import { ipKey, parseIpv6Subnet } from '../../utils/ip-key';
import type { AuthBackend, AuthResult, SessionOffer } from './backend';
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
  /** IPv6 prefix length clients without a session are grouped by (an integer 1–128, or false). @default 56 */
  ipv6Subnet?: number | false;
  /**
   * How many new sessions one IP (IPv6 prefix) may be given per window, across all routes.
   * Spent in the same store call as the route's rules. @default { limit: 10, windowMs: maxAge in ms }: over
   * any cookie lifetime one IP mints at most 2 × limit sessions (GCRA), so it can never hold more live ones.
   */
  mintBudget?: { limit: number; windowMs: number };
  /** @default console */
  logger?: { warn(message: string): void };
}

/**
 * The default mint budget: 10 new sessions per IP per cookie lifetime (`maxAge`; 14 days by default).
 * A window as long as the sessions live bounds how many live sessions one IP can HOLD, not only how
 * fast it collects them: a per-minute budget let a patient client stockpile cookies, each a budget.
 */
export const DEFAULT_MINT_BUDGET = Object.freeze({ limit: 10 });

/** Loggers already told about the missing secret: once per logger (so once per app), not per backend. */
const warnedEphemeral = new WeakSet<object>();

/**
 * Adds the session cookie as the response's headers are written, and only to a successful answer
 * (status below 400): a request a limit admitted may still end in a 401, 404 or 5xx, and such
 * answers hand out no session.
 */
function setCookieOnSuccess(res: Response, cookie: string): void {
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadWithSession(this: Response, ...args: unknown[]) {
    const status = typeof args[0] === 'number' ? args[0] : this.statusCode;
    if (status < 400 && !this.headersSent) this.append('Set-Cookie', cookie);
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
}

function parseMintBudget(value: unknown, maxAgeS: number): { limit: number; windowMs: number } {
  if (value === undefined) return Object.freeze({ limit: DEFAULT_MINT_BUDGET.limit, windowMs: maxAgeS * 1000 });
  const { limit, windowMs } = (value ?? {}) as { limit?: unknown; windowMs?: unknown };
  if (typeof value !== 'object' || !Number.isInteger(limit) || (limit as number) < 1 || !Number.isInteger(windowMs) || (windowMs as number) < 1000) {
    throw new InvalidOptionError('mintBudget', 'must be { limit: integer ≥ 1, windowMs: integer ≥ 1000 }');
  }
  return Object.freeze({ limit: limit as number, windowMs: windowMs as number });
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
  private readonly mintBudget: { limit: number; windowMs: number };
  private readonly maxAgeS: number;

  constructor(options: AnnoSessionOptions = {}) {
    checkOptions(options, ['sessionName', 'maxAge', 'secure', 'sameSite', 'secret', 'sessionFactory', 'ipv6Subnet', 'mintBudget', 'logger'], 'AnnoSessionBackend');
    const { sessionName = 'th-session', maxAge = 14 * 24 * 3600, secure = true, sameSite = 'lax', secret, sessionFactory } = options;
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
      const logger = options.logger ?? console;
      if (!warnedEphemeral.has(logger)) {
        warnedEphemeral.add(logger);
        logger.warn('[webtool] Warning: AnnoSessionBackend has no `secret`, so a random one is used: anonymous sessions last for this process only. Pass a secret of 32+ bytes shared by every process.');
      }
    }
    this.sessionName = sessionName;
    this.cookieOptions = { httpOnly: true, secure, sameSite, path: '/', maxAge };
    this.factory = sessionFactory ?? randomId;
    this.ipv6Subnet = parseIpv6Subnet(options.ipv6Subnet);
    this.mintBudget = parseMintBudget(options.mintBudget, maxAge);
    this.maxAgeS = maxAge;
  }

  /** A valid session → `s:<id>`; otherwise the caller is counted by IP and offered a session. */
  authenticate(req: Request, res: Response): AuthResult {
    const id = unsign(this.secret, readCookie(req, this.sessionName));
    if (id) return { identifier: `s:${id}`, scope: null, extra: {} };
    const identity: AuthResult = { identifier: `ip:${ipKey(req.ip, { ipv6Subnet: this.ipv6Subnet })}`, scope: null, extra: {} };
    if (!res.headersSent) identity.offer = this.offer(res);
    return identity;
  }

  private offer(res: Response): SessionOffer {
    let minted = false;
    return {
      budget: this.mintBudget,
      onAdmitted: () => {
        if (minted || res.headersSent) return;
        minted = true;
        let fresh: unknown;
        try {
          fresh = this.factory();
        } catch {
          fresh = undefined; // a faulty factory must not fail an admitted request
        }
        if (!isValidId(fresh)) fresh = randomId();
        setCookieOnSuccess(res, serialize(this.sessionName, sign(this.secret, fresh as string, Date.now() / 1000 + this.maxAgeS), this.cookieOptions));
      },
    };
  }
}
