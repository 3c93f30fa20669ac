/**
 * @module The one errors module: `WebtoolError` and its subclasses, each with a stable `code`.
 * `toJSON()` emits only RFC 9457 problem fields, so a serialiser (routing-controllers' error
 * handler, `JSON.stringify`) can never leak a token, a key or a lower-level error kept in `cause`.
 */

/** Problem details as sent on the wire (RFC 9457). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  [extension: string]: unknown;
}

/** Base class of every error webtool throws. `code` is stable across versions; match on it. */
export class WebtoolError extends Error {
  /** Stable machine-readable code, `ERR_WT_*`. */
  readonly code: string = 'ERR_WT_GENERIC';
  /** HTTP status this error maps to when it reaches a response. */
  readonly status: number = 500;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The status under the name routing-controllers' error handler reads. */
  get httpCode(): number {
    return this.status;
  }

  /** The problem title sent to clients; by default the message, or a generic title for 5xx. */
  protected readonly problemTitle?: string;
  /** Whether the message is meant for clients (then sent as `detail`). */
  protected readonly publicMessage: boolean = false;

  /** Problem details without `cause` or any other field: safe to send. */
  toJSON(): ProblemDetails {
    const title = this.problemTitle ?? (this.status >= 500 ? 'Internal Server Error' : this.message);
    const problem: ProblemDetails = { type: 'about:blank', title, status: this.status, code: this.code };
    if (this.publicMessage) problem.detail = this.message;
    return problem;
  }
}

/** An option passed to a constructor or factory is missing or wrong; thrown at startup. */
export class InvalidOptionError extends WebtoolError {
  override readonly code = 'ERR_WT_INVALID_OPTION';
  /** @param option the option's name as the caller wrote it, e.g. `"secretKey"`. */
  constructor(readonly option: string, message: string, options?: { cause?: unknown }) {
    super(`${option}: ${message}`, options);
  }
}

/** The cache (Redis) did not answer, or answered with a connection error, within the bound. */
export class CacheUnavailableError extends WebtoolError {
  override readonly code: string = 'ERR_WT_CACHE_UNAVAILABLE';
  override readonly status = 503;
  protected override readonly problemTitle = 'Service Unavailable';
}

/**
 * A state change (a token rotation, a revocation) was sent but its reply was lost (timeout, connection
 * dropped): it may still take effect. Retrying the same call is safe: a retried rotation answers the
 * same pair. A `CacheUnavailableError`, so existing handlers still answer 503.
 */
export class OutcomeUnknownError extends CacheUnavailableError {
  override readonly code = 'ERR_WT_OUTCOME_UNKNOWN';
}

/** A lock could not be acquired within `timeoutMs`. */
export class LockTimeoutError extends WebtoolError {
  override readonly code = 'ERR_WT_LOCK_TIMEOUT';
  override readonly status = 503;
}

/** The in-memory lock table holds `maxLocks` held or waiting locks already; no lock is ever evicted to make room. */
export class LockLimitError extends WebtoolError {
  override readonly code = 'ERR_WT_LOCK_LIMIT';
  override readonly status = 503;
}

/** A lock held by `withLock` expired or passed to another owner before the work finished (its ttl could not be extended). */
export class LockLostError extends WebtoolError {
  override readonly code = 'ERR_WT_LOCK_LOST';
  override readonly status = 503;
}

/** A key is malformed, of an unsupported type, or does not match the requested algorithm. */
export class InvalidKeyError extends WebtoolError {
  override readonly code: string = 'ERR_WT_INVALID_KEY';
}

/** A symmetric secret is shorter than 32 bytes and the caller did not opt in to weak keys. */
export class WeakKeyError extends InvalidKeyError {
  override readonly code = 'ERR_WT_WEAK_KEY';
}

/** An encrypted PEM was given without a password, or with the wrong one. */
export class KeyPasswordError extends InvalidKeyError {
  override readonly code = 'ERR_WT_KEY_PASSWORD';
}

/** `save` would overwrite an existing key file. */
export class KeyFileExistsError extends WebtoolError {
  override readonly code = 'ERR_WT_KEY_FILE_EXISTS';
}

/** Claims given to `createToken`/`updateToken` are invalid (no string `sub`, or the claims class rejected them). */
export class InvalidClaimsError extends WebtoolError {
  override readonly code = 'ERR_WT_INVALID_CLAIMS';
  override readonly status = 400;
}

/** No valid credential: answered with 401 and `WWW-Authenticate: Bearer`. */
export class UnauthorizedError extends WebtoolError {
  override readonly code = 'ERR_WT_UNAUTHORIZED';
  override readonly status = 401;
  protected override readonly problemTitle = 'Unauthorized';
  protected override readonly publicMessage = true;
  constructor(message = 'Unauthorized', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Authenticated, but lacking a required scope: answered with 403. */
export class ForbiddenError extends WebtoolError {
  override readonly code = 'ERR_WT_FORBIDDEN';
  override readonly status = 403;
  protected override readonly problemTitle = 'Forbidden';
  protected override readonly publicMessage = true;
  constructor(message = 'Forbidden', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The rate-limit store is down and the failure policy is `closed`: answered with 503. */
export class StoreUnavailableError extends WebtoolError {
  override readonly code = 'ERR_WT_STORE_UNAVAILABLE';
  override readonly status = 503;
  protected override readonly problemTitle = 'Service Unavailable';
  protected override readonly publicMessage = true;
  /** True when the store is known unreachable (connection lost), as opposed to slow or failing once. */
  readonly disconnected: boolean;

  constructor(message: string, options?: { cause?: unknown; disconnected?: boolean }) {
    super(message, options);
    this.disconnected = options?.disconnected ?? false;
  }
}

/** Webtool was wired wrongly at run time (e.g. a route limiter with no global `limitMiddleware`). */
export class ConfigurationError extends WebtoolError {
  override readonly code = 'ERR_WT_CONFIGURATION';
}

/** No database connection within `acquireTimeoutMs`, the connection broke, or the database is closing: 503. */
export class DbUnavailableError extends WebtoolError {
  override readonly code: string = 'ERR_WT_DB_UNAVAILABLE';
  override readonly status = 503;
  protected override readonly problemTitle = 'Service Unavailable';
}

/** `close()` was called: no new transaction or query is accepted. */
export class DbClosedError extends DbUnavailableError {
  override readonly code = 'ERR_WT_DB_CLOSED';
}

/**
 * COMMIT did not commit: an error escaped a joined scope (the transaction was marked rollback-only),
 * or a statement failed and was swallowed, so PostgreSQL rolled back. The lower error is in `cause`.
 */
export class TransactionAbortedError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_TRANSACTION_ABORTED';
  override readonly status = 409;
  protected override readonly problemTitle = 'Conflict';
}

/** A serialization failure (40001) or deadlock (40P01) persisted through every retry attempt: 409. */
export class SerializationError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_SERIALIZATION';
  override readonly status = 409;
  protected override readonly problemTitle = 'Conflict';
  /** @param attempts how many times the transaction ran. */
  constructor(readonly attempts: number, options?: { cause?: unknown }) {
    super(`transaction failed after ${attempts} attempt(s)`, options);
  }
}

/** A transactional handler failed after it began its response (e.g. after `res.write`): its transaction rolled back, the partial answer was dropped. */
export class ResponseFailedError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_RESPONSE_FAILED';
}

/** A transactional handler wrote more than `maxBufferBytes` before `res.end()`: the transaction rolled back. */
export class ResponseTooLargeError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_RESPONSE_TOO_LARGE';
}

/** A raw BEGIN/COMMIT/ROLLBACK/END sent inside a webtool transaction: it would end the request transaction early. */
export class TransactionControlError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_TRANSACTION_CONTROL';
}

/**
 * A propagation rule was broken: `mandatory` with no transaction, `never` inside one, or
 * `requires_new`/`not_supported` inside a transaction on a single-connection driver (PGlite),
 * which would otherwise wait for ever for its own connection.
 */
export class TransactionPropagationError extends WebtoolError {
  override readonly code = 'ERR_WT_DB_PROPAGATION';
}
/**
 * An external token issuer (discovery, JWKS or introspection endpoint) did not answer usably within
 * `timeoutMs`; with `onIssuerFailure: 'unavailable'` it is answered with 503.
 */
export class IssuerUnavailableError extends WebtoolError {
  override readonly code = 'ERR_WT_ISSUER_UNAVAILABLE';
  override readonly status = 503;
  protected override readonly problemTitle = 'Service Unavailable';
}
