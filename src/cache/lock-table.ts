/**
 * @module The in-memory lock table: held locks live apart from cached entries, so a write flood
 * at `maxEntries` can never evict one (issue 8 item 10), and waiters are served first come, first
 * served from a FIFO queue per key (issue 13 item 8: with polling, two holders that re-acquire at
 * once starved a third waiter every time). Bounded: at most `maxLocks` held plus waiting locks;
 * beyond that `acquire` refuses with `LockLimitError` rather than evicting anything.
 */
import { LockLimitError, LockTimeoutError } from '../errors';

interface Held {
  token: string;
  expiresAt: number;
  /** Fires at expiry to hand the lock to the next waiter; set only while someone waits. */
  timer?: NodeJS.Timeout;
}

interface Waiter {
  token: string;
  ttlMs: number;
  grant(): void;
  refuse(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Held and waiting locks of one `InMemoryCache`. */
export class LockTable {
  private readonly held = new Map<string, Held>();
  private readonly queues = new Map<string, Waiter[]>();
  private waiting = 0;

  /** @param maxLocks held plus waiting locks at most */
  constructor(readonly maxLocks: number, private readonly now: () => number) {}

  /** Held plus waiting locks. */
  get size(): number {
    return this.held.size + this.waiting;
  }

  /**
   * Takes `key` for `token` now if it is free and nobody waits, else queues behind the waiters.
   * @throws LockTimeoutError after `timeoutMs`; LockLimitError when the table is full
   */
  async acquire(key: string, token: string, ttlMs: number, timeoutMs: number): Promise<void> {
    if (!this.holder(key) && !this.queues.has(key)) {
      this.makeRoom();
      this.held.set(key, { token, expiresAt: this.now() + ttlMs });
      return;
    }
    if (timeoutMs <= 0) throw new LockTimeoutError(`lock "${key}" is held`);
    this.makeRoom();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        token,
        ttlMs,
        grant: resolve,
        refuse: reject,
        timer: setTimeout(() => {
          this.dropWaiter(key, waiter);
          reject(new LockTimeoutError(`lock "${key}" not acquired within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      const queue = this.queues.get(key) ?? [];
      queue.push(waiter);
      this.queues.set(key, queue);
      this.waiting++;
      this.armExpiry(key);
    });
  }

  /** Sets `token`'s lock on `key` to live `ttlMs` more. @returns false when it is not held by `token` */
  extend(key: string, token: string, ttlMs: number): boolean {
    const held = this.holder(key);
    if (held?.token !== token) return false;
    held.expiresAt = this.now() + ttlMs;
    this.armExpiry(key);
    return true;
  }

  /** Releases `token`'s lock on `key` and hands it to the first waiter. @returns false when not held by `token` */
  release(key: string, token: string): boolean {
    const held = this.holder(key);
    if (held?.token !== token) return false;
    this.handOver(key);
    return true;
  }

  /** Drops every lock; waiters are refused with `err` (used on close). */
  clear(err: Error): void {
    for (const held of this.held.values()) clearTimeout(held.timer);
    for (const queue of this.queues.values()) {
      for (const w of queue) {
        clearTimeout(w.timer);
        w.refuse(err);
      }
    }
    this.held.clear();
    this.queues.clear();
    this.waiting = 0;
  }

  /** The live holder of `key`; an expired one is handed over first. */
  private holder(key: string): Held | undefined {
    const held = this.held.get(key);
    if (held && held.expiresAt <= this.now()) {
      this.handOver(key);
      return this.held.get(key);
    }
    return held;
  }

  /** Ends the current hold of `key`; the first waiter (if any) holds it from now. */
  private handOver(key: string): void {
    clearTimeout(this.held.get(key)?.timer);
    this.held.delete(key);
    const queue = this.queues.get(key);
    const next = queue?.shift();
    if (!next) return;
    this.waiting--;
    if (queue!.length === 0) this.queues.delete(key);
    clearTimeout(next.timer);
    this.held.set(key, { token: next.token, expiresAt: this.now() + next.ttlMs });
    this.armExpiry(key);
    next.grant();
  }

  /** While someone waits on `key`, one timer hands it over when the holder's ttl ends. */
  private armExpiry(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    clearTimeout(held.timer);
    held.timer = undefined;
    if (!this.queues.has(key)) return;
    held.timer = setTimeout(() => this.holder(key), Math.max(0, held.expiresAt - this.now()) + 1);
    held.timer.unref();
  }

  private dropWaiter(key: string, waiter: Waiter): void {
    const queue = this.queues.get(key);
    const index = queue?.indexOf(waiter) ?? -1;
    if (index < 0) return;
    queue!.splice(index, 1);
    this.waiting--;
    if (queue!.length === 0) {
      this.queues.delete(key);
      this.armExpiry(key);
    }
  }

  /** Drops expired holds nobody waits for (waited-for ones hand over on their own timer). */
  sweep(): void {
    const now = this.now();
    for (const [key, held] of this.held) if (held.expiresAt <= now && !this.queues.has(key)) this.held.delete(key);
  }

  /** Refuses when full; never evicts a live lock, and never scans the table on a caller's path. @throws LockLimitError */
  private makeRoom(): void {
    if (this.size >= this.maxLocks) throw new LockLimitError(`${this.maxLocks} locks are held or waited for (maxLocks)`);
  }
}
