/**
 * @module Sessions over any `Cache`: one JSON document per subject (at most `maxSessions` records, so
 * a bounded rewrite), changed under the subject's lock (an in-process queue first, so one process
 * never contends with itself, then `cache.lock` for other processes sharing the cache).
 */
import type { Cache } from '../../cache/cache';
import { redisKey } from '../../utils/redis-key';
import type { Revocation } from './revocation-registry';
import * as state from './session-state';
import type { NextTokens, Presented, SessionPolicy, SessionStore, StoreResult } from './session-store';

export class CacheSessionStore implements SessionStore {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly cache: Cache, private readonly prefix: string) {}

  issue(sub: string, fid: string, next: NextTokens, policy: SessionPolicy): Promise<StoreResult> {
    return this.change(sub, (sessions, now) => state.issue(sessions, fid, next, now, policy));
  }

  rotate(p: Presented, next: NextTokens, policy: SessionPolicy): Promise<StoreResult> {
    return this.change(p.sub, (sessions, now) => state.rotate(sessions, p, next, now, policy));
  }

  check(p: Presented, policy: SessionPolicy): Promise<StoreResult> {
    return this.change(p.sub, (sessions, now) => state.checkPresented(sessions, p, now, policy));
  }

  revoke(p: Presented, policy: SessionPolicy, targetJti?: string): Promise<StoreResult> {
    return this.change(p.sub, (sessions, now) => state.revoke(sessions, p, now, policy, targetJti));
  }

  revokeAll(sub: string, policy: SessionPolicy): Promise<{ count: number; revocations: Revocation[] }> {
    return this.change(sub, (sessions, now) => state.revokeAll(sessions, now, policy));
  }

  async search(sub: string): Promise<string[]> {
    const sessions = await this.read(sub, Date.now());
    return Object.values(sessions).map((s) => s.rjti);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }

  private async read(sub: string, now: number): Promise<state.Sessions> {
    const raw = await this.cache.get(redisKey(this.prefix, 'sess', sub));
    return state.prune(Object.assign(state.emptySessions(), raw ? (JSON.parse(raw) as state.Sessions) : {}), now);
  }

  /** Read-modify-write of one subject's sessions, serialised per subject. */
  private change<T>(sub: string, apply: (sessions: state.Sessions, now: number) => T): Promise<T> {
    const previous = this.queues.get(sub) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      const lock = await this.cache.lock(redisKey(this.prefix, 'lock', sub), { ttlMs: 5000, timeoutMs: 5000 });
      try {
        const now = Date.now();
        const sessions = await this.read(sub, now);
        const result = apply(sessions, now);
        const key = redisKey(this.prefix, 'sess', sub);
        const lastExpiry = Math.max(0, ...Object.values(sessions).map((s) => s.expMs));
        if (lastExpiry > now) await this.cache.set(key, JSON.stringify(sessions), { px: lastExpiry - now });
        else await this.cache.delete(key);
        return result;
      } finally {
        await lock.release().catch(() => false);
      }
    });
    this.queues.set(sub, next);
    // Forget the queue once idle, so subjects don't accumulate.
    void next.finally(() => this.queues.get(sub) === next && this.queues.delete(sub)).catch(() => {});
    return next;
  }
}
