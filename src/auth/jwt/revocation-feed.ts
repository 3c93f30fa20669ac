/**
 * @module Keeps the local revocation registry current across processes: revocations arrive by
 * Redis pub/sub, and since pub/sub drops messages while disconnected, every (re)connect reloads
 * the live revocations from the per-subject zsets (SCAN on each master, so it works on Cluster too).
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisCache } from '../../cache/redis-cache';
import { parseRevocation, parseRevocations, type RevocationRegistry } from './revocation-registry';

// The message and zset formats are written down at the top of src/auth/lua/sessions.lua.
export { parseRevocation };

export class RevocationFeed {
  private readonly subscriber: Redis | Cluster;
  private closed = false;
  /** Resolves after the first reload attempt (for callers that want to wait). */
  readonly ready: Promise<void>;

  constructor(private readonly cache: RedisCache, private readonly registry: RevocationRegistry, private readonly prefix: string, readonly channel: string) {
    this.subscriber = cache.client.duplicate();
    this.subscriber.on('error', () => {}); // the main client reports outages; this one just reconnects
    this.subscriber.on('message', (_channel: string, message: string) => {
      for (const revocation of parseRevocations(message)) registry.add(revocation);
    });
    let first: () => void;
    this.ready = new Promise((resolve) => (first = resolve));
    this.subscriber.on('ready', () => {
      void this.reload().finally(() => first());
    });
    void this.subscriber.subscribe(channel).catch(() => {});
  }

  /** Loads every live revocation under the prefix into the registry. */
  async reload(): Promise<void> {
    if (this.closed) return;
    const client = this.cache.client;
    const nodes: Redis[] = 'nodes' in client && typeof client.nodes === 'function' && client.constructor.name === 'Cluster'
      ? (client as Cluster).nodes('master')
      : [client as Redis];
    try {
      for (const node of nodes) await this.reloadNode(node);
    } catch {
      // Redis is going away again; the next 'ready' reloads.
    }
  }

  private async reloadNode(node: Redis): Promise<void> {
    let cursor = '0';
    const now = Date.now();
    do {
      const [next, keys] = await this.cache.run(() => node.scan(cursor, 'MATCH', `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}rv:*`, 'COUNT', 1000));
      cursor = next;
      for (const key of keys) {
        const entries = await this.cache.run(() => node.zrangebyscore(key, now, '+inf', 'WITHSCORES'));
        for (let i = 0; i + 1 < entries.length; i += 2) {
          const revocation = parseRevocation(entries[i], Number(entries[i + 1]));
          if (revocation) this.registry.add(revocation);
        }
      }
    } while (cursor !== '0' && !this.closed);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.disconnect();
  }
}
