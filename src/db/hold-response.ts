/**
 * @module Holds an Express/node response until its transaction has committed: `writeHead`, `write`,
 * `flushHeaders` and `end` are buffered (up to `maxBufferBytes`) and replayed after COMMIT, or dropped
 * and replaced by a problem+json answer when the transaction rolled back.
 */
import { OutgoingMessage, validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ResponseFailedError, type WebtoolError } from '../errors';

/** Default bound on what a transactional handler may write before `res.end()`: 1 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

const realHeadersSent = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')!.get!;
type Method = 'writeHead' | 'write' | 'flushHeaders' | 'end';

/** Why the held response stopped accepting output. */
export type Settled = 'ended' | 'overflow' | 'aborted';

/** A response whose output is held. */
export interface HeldResponse {
  /** Resolves when the handler called `end()`, wrote past the bound, or the client went away. */
  readonly settled: Promise<Settled>;
  /** Whether the handler wrote anything (writeHead, write, flushHeaders or end). */
  readonly started: boolean;
  /** Whether it wrote past `maxBufferBytes`. */
  readonly overflowed: boolean;
  /** The status changed after the first write: an error handler took over a response already begun. */
  readonly rewritten: boolean;
  /** Resolves when every hold joined to this one (a second `transactional()` or `@Transactional` on the same response) has finished. */
  joined(): Promise<void>;
  /** Forgets what was held (a retried action writes again). */
  reset(): void;
  /** Sends what was held; later output goes straight through. */
  flush(): void;
  /** Drops what was held and answers `problem` as problem+json; later output of the handler is dropped. */
  fail(problem: WebtoolError): void;
}

/** What node refuses in a header value or status message. */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** A TypeError or RangeError carrying node's error code, as node's own checks throw them. */
function nodeError<E extends Error>(Ctor: new (message: string) => E, code: string, message: string): E {
  return Object.assign(new Ctor(message), { code });
}

/** node's argument checks for `writeHead`, `write` and `end`. @throws as node would */
function checkCall(name: Method, args: unknown[], statusCode: number, statusMessage: unknown): void {
  const status = name === 'writeHead' ? args[0] : statusCode;
  // Stricter than node (which sends `status | 0`): commitOn must judge the very status that is sent.
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${String(status)}`);
  }
  const reason = name === 'writeHead' && typeof args[1] === 'string' ? args[1] : statusMessage;
  if (typeof reason === 'string' && INVALID_HEADER_CHAR.test(reason)) throw nodeError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage');
  if (name === 'writeHead') return checkHeaders(args.find((a, i) => i > 0 && a !== null && typeof a === 'object'));
  if (name !== 'write' && name !== 'end') return;
  const encoding = args[1];
  if (typeof encoding === 'string' && !Buffer.isEncoding(encoding)) throw nodeError(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
  const chunk = args[0];
  if (chunk === undefined || typeof chunk === 'function' || typeof chunk === 'string' || chunk instanceof Uint8Array) return;
  if (chunk === null && name === 'end') return;
  throw nodeError(TypeError, chunk === null ? 'ERR_STREAM_NULL_VALUES' : 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
}

/** `writeHead`'s headers (an object, or name/value pairs), checked as node checks them. @throws as node would */
function checkHeaders(headers: unknown): void {
  if (!headers) return;
  if (Array.isArray(headers) && !Array.isArray(headers[0]) && headers.length % 2 !== 0) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'The argument \'headers\' must be an array of name/value pairs of even length');
  }
  const pairs: [string, unknown][] = Array.isArray(headers)
    ? Array.isArray(headers[0])
      ? (headers as [string, unknown][])
      : Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [headers[2 * i], headers[2 * i + 1]] as [string, unknown])
    : Object.entries(headers as Record<string, unknown>);
  for (const [name, value] of pairs) {
    validateHeaderName(String(name));
    for (const v of Array.isArray(value) ? value : [value]) validateHeaderValue(String(name), v);
  }
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array).byteLength ?? 0;
}

const HOLD = Symbol('webtool.hold');
type Held = ServerResponse & { [HOLD]: Hold };

/**
 * The state of one held response. The wrappers and the `headersSent` getter installed on `res` are shared
 * functions that read it through a symbol: per-request closures as own properties would cost V8 a new
 * hidden class (and an accessor pair) on every request.
 */
class Hold implements HeldResponse {
  held: [Method, unknown[]][] = [];
  bytes = 0;
  firstStatus: number | undefined;
  mode: 'hold' | 'through' | 'drop' = 'hold';
  ended = false;
  /** Set while `fail()` answers: node's own `end()` calls `this.writeHead()`, which must then go through. */
  internal = false;
  overflowed = false;
  readonly settled: Promise<Settled>;
  private settle!: (how: Settled) => void;
  private settledOnce = false;

  /** The methods `res` had before (node's, or those of a middleware that wrapped them, such as compression). */
  readonly originals: Record<Method, Function>;

  /** Called when the handler ends the response (this hold's and those of holds joined to it). */
  readonly onEnds: (() => void)[] = [];
  /** A joined hold's failure: sent instead of the held output. */
  override: WebtoolError | undefined;
  /** Whether the handler wrote anything since the last reset (`started`; kept after a flush empties `held`). */
  wrote = false;
  /** writeHead, write or flushHeaders is held: node would refuse a later writeHead. */
  private headWritten = false;
  /** The reason phrase when `end()` was held: what node would have sent then. */
  private statusMessageAtEnd: string | undefined;
  /** Holds joined to this one that have not finished; this one neither commits nor sends before they do. */
  private joins = 0;
  private joinsIdle: Promise<void> = Promise.resolve();
  private joinsDone: (() => void) | undefined;

  constructor(readonly res: ServerResponse, readonly maxBufferBytes: number, onEnd: (() => void) | undefined) {
    if (onEnd) this.onEnds.push(onEnd);
    this.originals = { writeHead: res.writeHead, write: res.write, flushHeaders: res.flushHeaders, end: res.end };
    this.settled = new Promise<Settled>((resolve) => (this.settle = resolve));
  }

  finish(how: Settled): void {
    if (this.settledOnce) return;
    this.settledOnce = true;
    this.settle(how);
  }

  /** A held call: queued, unless the response goes straight through or is being dropped. */
  call(name: Method, args: unknown[]): unknown {
    const { res } = this;
    if (this.mode === 'through' || this.internal) return this.originals[name].apply(res, args);
    if (this.mode === 'drop' || this.ended || this.overflowed) {
      // Dropped, but its callback still runs, with the error node gives it on an ended or destroyed
      // response: a handler awaiting it must not wait for ever.
      const callback = args[args.length - 1];
      if ((name === 'write' || name === 'end') && typeof callback === 'function') {
        process.nextTick(callback, this.ended && this.mode === 'hold' && !this.overflowed ? nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end') : nodeError(Error, 'ERR_STREAM_DESTROYED', `Cannot call ${name} after a stream was destroyed`));
      }
      return name === 'write' ? true : res;
    }
    // What node would refuse when the call is made, refused now (in the handler, which Express answers 500),
    // not at replay after COMMIT, where nothing could catch it.
    checkCall(name, args, res.statusCode, res.statusMessage);
    if (name === 'writeHead') {
      if (this.headWritten) throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
      res.statusCode = args[0] as number;
      // The headers as they are now: changing the object later must not change what was checked.
      args = args.map((a, i) => (i > 0 && Array.isArray(a) ? a.slice() : i > 0 && a !== null && typeof a === 'object' ? { ...a } : a));
    }
    if (name !== 'end') this.headWritten = true;
    if (name === 'write' && typeof args[args.length - 1] === 'function') {
      // A buffered write: its callback runs now, not after COMMIT (a handler awaiting it would wait for ever).
      const callback = args[args.length - 1] as () => void;
      args = args.slice(0, -1);
      process.nextTick(callback);
    }
    this.firstStatus ??= res.statusCode;
    this.wrote = true;
    if (name === 'write' || name === 'end') this.bytes += byteLength(args[0], args[1]);
    if (name === 'end') this.statusMessageAtEnd = res.statusMessage;
    this.held.push([name, args]);
    if (this.bytes > this.maxBufferBytes) {
      this.overflowed = true;
      this.finish('overflow');
    } else if (name === 'end') {
      this.ended = true;
      for (const onEnd of this.onEnds) onEnd();
      this.finish('ended');
    }
    return name === 'write' ? true : res;
  }

  get started(): boolean {
    return this.wrote;
  }

  get rewritten(): boolean {
    return this.firstStatus !== undefined && this.res.statusCode !== this.firstStatus;
  }

  reset(): void {
    this.held = [];
    this.bytes = 0;
    this.firstStatus = undefined;
    this.ended = false;
    this.wrote = false;
    this.headWritten = false;
  }

  /** A joined hold starts: this one waits for it (`joined()`). */
  join(): void {
    if (this.joins++ === 0) this.joinsIdle = new Promise<void>((resolve) => (this.joinsDone = resolve));
  }

  /** A joined hold has finished (flushed or failed). */
  leave(): void {
    if (--this.joins === 0) this.joinsDone?.();
  }

  joined(): Promise<void> {
    return this.joinsIdle;
  }

  flush(): void {
    if (this.override) return this.fail(this.override);
    // What was checked when end() was held, not a reason phrase set afterwards.
    if (this.ended) this.res.statusMessage = this.statusMessageAtEnd as string;
    this.mode = 'through';
    const held = this.held;
    this.held = [];
    try {
      for (const [name, args] of held) this.originals[name].apply(this.res, args);
    } catch {
      // Never a crash after COMMIT: the answer is a 500 if nothing was sent yet, else the connection is cut.
      this.fail(new ResponseFailedError('the response could not be written'));
    }
  }

  fail(problem: WebtoolError): void {
    // A joined hold's failure is the more precise answer (its error is what doomed the transaction).
    problem = this.override ?? problem;
    const { res } = this;
    this.mode = 'drop';
    this.held = [];
    if (realHeadersSent.call(res) || res.destroyed) {
      res.destroy();
      return;
    }
    for (const header of res.getHeaderNames()) res.removeHeader(header);
    res.statusCode = problem.status;
    // The handler's reason phrase (perhaps the very thing node refused) is not ours to send.
    res.statusMessage = '';
    res.setHeader('content-type', 'application/problem+json');
    this.internal = true;
    try {
      this.originals.end.call(res, JSON.stringify(problem));
    } catch {
      res.destroy();
    } finally {
      this.internal = false;
    }
  }
}

/**
 * A second hold on a response already held: it sees the same output and settles with it; `flush()` leaves
 * sending to the outer hold (after the outer transaction), and `fail()` hands its answer to the outer one.
 */
class JoinedHold implements HeldResponse {
  private done = false;
  readonly settled: Promise<Settled>;

  constructor(private readonly outer: Hold, private readonly maxBufferBytes: number, onEnd: (() => void) | undefined) {
    if (onEnd) outer.onEnds.push(onEnd);
    outer.join();
    // Its own bound too: more than it allows is an overflow for it, whatever the outer one allows.
    this.settled = outer.settled.then((how) => (how === 'ended' && outer.bytes > maxBufferBytes ? 'overflow' : how));
  }

  get started(): boolean {
    return this.outer.wrote;
  }

  get overflowed(): boolean {
    return this.outer.overflowed || this.outer.bytes > this.maxBufferBytes;
  }

  joined(): Promise<void> {
    return Promise.resolve();
  }

  private finishOnce(): void {
    if (this.done) return;
    this.done = true;
    this.outer.leave();
  }

  get rewritten(): boolean {
    return this.outer.rewritten;
  }

  reset(): void {
    this.outer.reset();
  }

  flush(): void {
    this.finishOnce();
  }

  fail(problem: WebtoolError): void {
    this.outer.override ??= problem;
    this.finishOnce();
  }
}

const wrappers: Record<Method, Function> = {
  writeHead(this: Held, ...args: unknown[]) {
    return this[HOLD].call('writeHead', args);
  },
  write(this: Held, ...args: unknown[]) {
    return this[HOLD].call('write', args);
  },
  flushHeaders(this: Held, ...args: unknown[]) {
    return this[HOLD].call('flushHeaders', args);
  },
  end(this: Held, ...args: unknown[]) {
    return this[HOLD].call('end', args);
  },
};

// Once end() is held the response counts as sent: code after the handler (routing-controllers' next(),
// the final 404 handler, error handlers) must not try to answer a second time. Once not holding, node's answer.
const headersSent: PropertyDescriptor = {
  configurable: true,
  get(this: Held) {
    const hold = this[HOLD];
    return (hold.mode === 'hold' && hold.ended) || realHeadersSent.call(this);
  },
};

function onClose(this: Held): void {
  const hold = this[HOLD];
  if (!hold.ended) hold.finish('aborted');
}

/**
 * Holds `res` until `flush()` or `fail()`. `onEnd` runs synchronously when the handler calls `end()`,
 * so statements issued after it can be refused before COMMIT is even sent.
 */
export function holdResponse(res: ServerResponse, maxBufferBytes: number, onEnd?: () => void): HeldResponse {
  const outer = (res as unknown as { [HOLD]?: Hold })[HOLD];
  // Already held (transactional() twice, or with @Transactional + @Res()): the outer hold sends it, once.
  if (outer && outer.mode === 'hold') return new JoinedHold(outer, maxBufferBytes, onEnd);
  const hold = new Hold(res, maxBufferBytes, onEnd);
  const target = res as unknown as Record<Method, Function> & { [HOLD]: Hold };
  target[HOLD] = hold;
  target.writeHead = wrappers.writeHead;
  target.write = wrappers.write;
  target.flushHeaders = wrappers.flushHeaders;
  target.end = wrappers.end;
  Object.defineProperty(res, 'headersSent', headersSent);
  res.once('close', onClose);
  // A response waiting its turn behind a pipelined one gets no 'close' when the client hangs up: its
  // connection does. Listened to until this response is done (a keep-alive socket serves many).
  const socket = clientSocket(res);
  if (socket && socket !== res.socket) {
    const onSocketClose = () => hold.finish('aborted');
    socket.once('close', onSocketClose);
    res.once('close', () => socket.off('close', onSocketClose));
  }
  // The client may have hung up while an earlier (async) middleware ran: 'close' has fired already.
  if (clientGone(res)) hold.finish('aborted');
  return hold;
}

/** The connection of the request `res` answers (`res.socket` is null while a pipelined response waits its turn). */
function clientSocket(res: ServerResponse): Socket | null {
  return res.req?.socket ?? res.socket;
}

/** Whether the client of `res` has hung up (also for a pipelined response still waiting its turn). */
export function clientGone(res: ServerResponse): boolean {
  return res.destroyed || clientSocket(res)?.destroyed === true;
}
