/** @module Transaction options, parsed once into a full configuration. */
import { InvalidOptionError, TransactionPropagationError } from '../errors';

/** How a transaction relates to the one already running (Spring's seven modes). */
export type Propagation = 'required' | 'requires_new' | 'nested' | 'supports' | 'mandatory' | 'never' | 'not_supported';

/** PostgreSQL isolation levels (`read uncommitted` is `read committed` in PostgreSQL). */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Retry of serialization failures and deadlocks on the outermost scope. */
export interface RetryOptions {
  /** Runs of the transaction in all, the first included. @default 10 */
  attempts?: number;
  /** Backoff base; attempt n waits a random time in [0, min(maxMs, baseMs·2ⁿ)). @default 10 */
  baseMs?: number;
  /** @default 500 */
  maxMs?: number;
}

/** Options of `db.transaction`, `@Transactional` and `transactional()`. */
export interface TransactionOptions {
  /** @default 'required' */
  propagation?: Propagation;
  /** Only for a new transaction; a joined scope keeps the outer one's. @default the server's (read committed) */
  isolation?: IsolationLevel;
  /** `BEGIN READ ONLY`; sent to a replica when there is one and the request has not written. @default false */
  readOnly?: boolean;
  /** `SET LOCAL statement_timeout`, per statement, in ms. */
  timeoutMs?: number;
  /** Retry of 40001/40P01 on the outermost scope; `false` to run once. @default the Database's */
  retry?: false | RetryOptions;
}

/** A full retry configuration. */
export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

const propagations: Propagation[] = ['required', 'requires_new', 'nested', 'supports', 'mandatory', 'never', 'not_supported'];
const isolations: IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];
/** SQLSTATEs PostgreSQL documents as safe to retry: serialization_failure, deadlock_detected. */
export const RETRYABLE_SQLSTATES: readonly string[] = ['40001', '40P01'];

function positiveInt(option: string, value: unknown, min: number): number {
  if (!Number.isInteger(value) || (value as number) < min) throw new InvalidOptionError(option, `must be an integer ≥ ${min}`);
  return value as number;
}

/** Parses retry options. @throws InvalidOptionError */
export function parseRetry(retry: false | RetryOptions | undefined, fallback: RetryPolicy | false): RetryPolicy | false {
  if (retry === undefined) return fallback;
  if (retry === false) return false;
  return {
    attempts: positiveInt('retry.attempts', retry.attempts ?? 10, 1),
    baseMs: positiveInt('retry.baseMs', retry.baseMs ?? 10, 0),
    maxMs: positiveInt('retry.maxMs', retry.maxMs ?? 500, 0),
  };
}

/** Checks transaction options. @throws InvalidOptionError */
export function checkOptions(options: TransactionOptions): void {
  if (options.propagation !== undefined && !propagations.includes(options.propagation)) {
    throw new InvalidOptionError('propagation', `must be one of ${propagations.join(', ')}`);
  }
  if (options.isolation !== undefined && !isolations.includes(options.isolation)) {
    throw new InvalidOptionError('isolation', `must be one of ${isolations.join(', ')}`);
  }
  if (options.timeoutMs !== undefined) positiveInt('timeoutMs', options.timeoutMs, 1);
}

/** The BEGIN statement for these options; every part comes from a closed list, never from input. */
export function beginStatement(options: TransactionOptions): string {
  let sql = 'BEGIN';
  if (options.isolation) sql += ` ISOLATION LEVEL ${options.isolation.toUpperCase()}`;
  if (options.readOnly) sql += ' READ ONLY';
  return sql;
}

/** Full-jitter backoff before attempt `attempt + 1`. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}

const strictness: Record<IsolationLevel, number> = { 'read committed': 0, 'repeatable read': 1, serializable: 2 };

/**
 * A scope joining a running transaction cannot change its access mode or make its isolation stricter:
 * options it cannot honour are an error, never a silent no-op.
 * @throws TransactionPropagationError
 */
export function checkJoinable(outer: TransactionOptions, options: TransactionOptions): void {
  if (options.readOnly !== undefined && options.readOnly !== Boolean(outer.readOnly)) {
    throw new TransactionPropagationError(`readOnly: ${options.readOnly} cannot join a ${outer.readOnly ? 'read-only' : 'read-write'} transaction`);
  }
  if (options.isolation && strictness[options.isolation] > strictness[outer.isolation ?? 'read committed']) {
    throw new TransactionPropagationError(`isolation "${options.isolation}" cannot join a "${outer.isolation ?? 'read committed'}" transaction`);
  }
}
