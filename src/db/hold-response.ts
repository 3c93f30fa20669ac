/**
 * @module Holds an Express/node response until its transaction has committed: `writeHead`, `write`,
 * `flushHeaders` and `end` are buffered (up to `maxBufferBytes`) and replayed after COMMIT, or dropped
 * and replaced by a problem+json answer when the transaction rolled back.
 */
import { OutgoingMessage, type ServerResponse } from 'node:http';
import type { WebtoolError } from '../errors';

/** Default bound on what a transactional handler may write before `res.end()`: 1 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

const realHeadersSent = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')!.get!;
const methods = ['writeHead', 'write', 'flushHeaders', 'end'] as const;
type Method = (typeof methods)[number];

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
  /** Forgets what was held (a retried action writes again). */
  reset(): void;
  /** Sends what was held; later output goes straight through. */
  flush(): void;
  /** Drops what was held and answers `problem` as problem+json; later output of the handler is dropped. */
  fail(problem: WebtoolError): void;
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array).byteLength ?? 0;
}

/**
 * Holds `res` until `flush()` or `fail()`. `onEnd` runs synchronously when the handler calls `end()`,
 * so statements issued after it can be refused before COMMIT is even sent.
 */
export function holdResponse(res: ServerResponse, maxBufferBytes: number, onEnd?: () => void): HeldResponse {
  const originals = Object.fromEntries(methods.map((m) => [m, res[m]])) as unknown as Record<Method, Function>;
  let held: [Method, unknown[]][] = [];
  let bytes = 0;
  let firstStatus: number | undefined;
  let mode: 'hold' | 'through' | 'drop' = 'hold';
  let ended = false;
  /** Set while `fail()` answers: node's own `end()` calls `this.writeHead()`, which must then go through. */
  let internal = false;
  let overflowed = false;
  let settle!: (how: Settled) => void;
  let settledOnce = false;
  const settled = new Promise<Settled>((resolve) => (settle = (how) => settledOnce || ((settledOnce = true), resolve(how))));

  for (const name of methods) {
    (res as unknown as Record<Method, Function>)[name] = function (this: ServerResponse, ...args: unknown[]) {
      if (mode === 'through' || internal) return originals[name].apply(res, args);
      if (mode === 'drop' || ended || overflowed) return name === 'write' ? true : res;
      if (name === 'writeHead' && typeof args[0] === 'number') res.statusCode = args[0];
      firstStatus ??= res.statusCode;
      if (name === 'write' || name === 'end') bytes += byteLength(args[0], args[1]);
      held.push([name, args]);
      if (bytes > maxBufferBytes) {
        overflowed = true;
        settle('overflow');
      } else if (name === 'end') {
        ended = true;
        onEnd?.();
        settle('ended');
      }
      return name === 'write' ? true : res;
    };
  }
  // Once end() is held the response counts as sent: code after the handler (routing-controllers' next(),
  // the final 404 handler, error handlers) must not try to answer a second time.
  Object.defineProperty(res, 'headersSent', { configurable: true, get: () => (mode === 'hold' && ended) || realHeadersSent.call(res) });
  res.once('close', () => {
    if (!ended) settle('aborted');
  });

  const restore = (next: 'through' | 'drop') => {
    mode = next;
    delete (res as { headersSent?: boolean }).headersSent;
  };
  return {
    settled,
    get started() {
      return held.length > 0;
    },
    get overflowed() {
      return overflowed;
    },
    get rewritten() {
      return firstStatus !== undefined && res.statusCode !== firstStatus;
    },
    reset() {
      held = [];
      bytes = 0;
      firstStatus = undefined;
      ended = false;
    },
    flush() {
      restore('through');
      for (const [name, args] of held) originals[name].apply(res, args);
      held = [];
    },
    fail(problem) {
      restore('drop');
      held = [];
      if (realHeadersSent.call(res) || res.destroyed) {
        res.destroy();
        return;
      }
      for (const header of res.getHeaderNames()) res.removeHeader(header);
      res.statusCode = problem.status;
      res.setHeader('content-type', 'application/problem+json');
      internal = true;
      try {
        originals.end.call(res, JSON.stringify(problem));
      } finally {
        internal = false;
      }
    },
  };
}
