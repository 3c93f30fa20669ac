/**
 * @module `InFlightCalls`: store calls waiting on Redis, each failed once it has waited `timeoutMs`.
 * One list and at most one timer for all of them, not a timer per call: a request's setTimeout and
 * clearTimeout cost more than the rest of its store call. Every call gets the same timeout, so the
 * list (oldest first) is also in deadline order and the timer only ever watches its head.
 */

/** One call in flight. */
export interface InFlightCall {
  readonly deadline: number;
  /** Settled: answered, failed, or timed out. */
  settled: boolean;
  prev: InFlightCall | undefined;
  next: InFlightCall | undefined;
  readonly fail: (err: Error) => void;
}

/**
 * Calls in flight, in start order.
 * @example const call = calls.add(reject); … if (calls.settle(call)) resolve(reply)
 */
export class InFlightCalls {
  private head: InFlightCall | undefined;
  private tail: InFlightCall | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** @param timedOut the error a call that waited `timeoutMs` fails with */
  constructor(
    private readonly timeoutMs: number,
    private readonly timedOut: () => Error,
  ) {}

  /** Starts a call; `fail` runs at most once, for a timeout or `failAll`. */
  add(fail: (err: Error) => void): InFlightCall {
    const call: InFlightCall = { deadline: Date.now() + this.timeoutMs, settled: false, prev: this.tail, next: undefined, fail };
    if (this.tail) this.tail.next = call;
    else this.head = call;
    this.tail = call;
    // Armed only when none is: a running timer re-arms itself for the next deadline when it fires.
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return call;
  }

  /** Marks `call` answered; false when it already failed (the answer is then dropped). */
  settle(call: InFlightCall): boolean {
    if (call.settled) return false;
    call.settled = true;
    this.unlink(call);
    return true;
  }

  /** Fails every call still waiting (the connection closed under them). */
  failAll(err: Error): void {
    for (let call = this.head; call; call = call.next) {
      call.settled = true;
      call.fail(err);
    }
    this.head = this.tail = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms);
    // A pending call keeps the process alive through its socket, not through this timer.
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    const expired: InFlightCall[] = [];
    while (this.head && this.head.deadline <= now) {
      const call = this.head;
      this.unlink(call);
      expired.push(call);
    }
    if (this.head) this.arm(this.head.deadline - now);
    if (expired.length === 0) return;
    // The timer may fire late on a busy loop while the reply already sits in the socket: setImmediate
    // runs after this turn's I/O poll, so such a reply settles its call first.
    setImmediate(() => {
      for (const call of expired) {
        if (call.settled) continue;
        call.settled = true;
        call.fail(this.timedOut());
      }
    });
  }

  private unlink(call: InFlightCall): void {
    if (call.prev) call.prev.next = call.next;
    else if (this.head === call) this.head = call.next;
    else return; // not in the list (expired, waiting for its immediate)
    if (call.next) call.next.prev = call.prev;
    else this.tail = call.prev;
    call.prev = call.next = undefined;
  }
}
