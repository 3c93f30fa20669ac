/**
 * @module Keeps the local revocation registry current across processes: revocations arrive by
 * Redis pub/sub, and since pub/sub drops messages while a subscription is down, the registry is
 * reloaded from the per-subject zsets (every master, in pages) each time the subscription is
 * (re-)established, and again whenever a Cluster's topology changes (a replica promoted, a node
 * dropped). A reload that fails is retried with backoff until one completes.
 *
 * On a Cluster the subscriber is a plain connection to one node that this feed moves itself: an
 * ioredis Cluster moves its own subscriber silently and emits `ready` once (issue 13 item 10), so
 * a revocation published while it moved was lost until the token expired.
 */
import type { Cluster, Redis } from 'ioredis';
import { isCluster } from '../../cache/cluster';
import type { RedisCache } from '../../cache/redis-cache';
import { parseRevocations, type RevocationRegistry } from './revocation-registry';
import { reloadRevocations } from './revocation-reload';

// The message and zset formats are written down at the top of src/auth/lua/sessions.lua.
export { parseRevocation } from './revocation-registry';

const RETRY_MS = { first: 100, max: 2000 } as const;

/** Subscribes to revocations and reloads them whenever the subscription may have missed some. */
export class RevocationFeed {
  private subscriber?: Redis | Cluster;
  private closed = false;
  private reloading?: Promise<void>;
  private again = false;
  private retryTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private readonly onTopology = () => this.scheduleReload();
  /** Resolves after the first complete reload (or on close): await it with a timeout of your own if Redis may be down. */
  readonly ready: Promise<void>;
  private firstDone!: () => void;
  /** Completed reloads, for tests and metrics. */
  reloads = 0;

  constructor(private readonly cache: RedisCache, private readonly registry: RevocationRegistry, private readonly prefix: string, readonly channel: string) {
    this.ready = new Promise((resolve) => (this.firstDone = resolve));
    const client = cache.client;
    if (isCluster(client)) {
      client.on('-node', this.onTopology);
      client.on('+node', this.onTopology);
      // Its node list is complete only once it is ready.
      if (client.status === 'ready') this.subscribeClusterNode(undefined);
      else client.once('ready', () => this.subscribeClusterNode(undefined));
    } else {
      const subscriber = client.duplicate();
      this.subscriber = subscriber;
      this.listen(subscriber);
      // ioredis resubscribes before it emits 'ready' on every reconnect: reload after that.
      subscriber.on('ready', () => this.scheduleReload());
      void subscriber.subscribe(channel).catch(() => {});
    }
  }

  /** Loads every live revocation under the prefix into the registry, from every master, in pages. */
  async reload(): Promise<void> {
    if (this.closed) return;
    await reloadRevocations(this.cache, this.registry, this.prefix, () => this.closed);
    this.reloads++;
  }

  /** Runs a reload now, or once more after the running one; retries failed reloads. */
  scheduleReload(): void {
    if (this.closed) return;
    if (this.reloading) {
      this.again = true;
      return;
    }
    this.reloading = this.reloadUntilDone().finally(() => {
      this.reloading = undefined;
    });
  }

  private async reloadUntilDone(): Promise<void> {
    let delayMs: number = RETRY_MS.first;
    do {
      this.again = false;
      try {
        await this.reload();
        this.firstDone();
      } catch {
        // A node is down or moving: try again, since nothing else may trigger a reload.
        this.again = true;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.retryTimer = setTimeout(resolve, delayMs);
          this.retryTimer.unref();
        });
        delayMs = Math.min(delayMs * 2, RETRY_MS.max);
      }
    } while (this.again && !this.closed);
  }

  private listen(subscriber: Redis | Cluster): void {
    subscriber.on('error', () => {}); // the main client reports outages; this one just reconnects
    subscriber.on('message', (_channel: string, message: string) => {
      for (const revocation of parseRevocations(message)) this.registry.add(revocation);
    });
  }

  /** Subscribes on one Cluster node (another than `previous` when one is up); moves on when it ends. */
  private subscribeClusterNode(previous: string | undefined): void {
    if (this.closed) return;
    const cluster = this.cache.client as Cluster;
    // A master first (a replica may be promoted away under us), another node than the one that ended.
    const nodes = [...cluster.nodes('master'), ...cluster.nodes('slave')];
    const others = nodes.filter((n) => `${n.options.host}:${n.options.port}` !== previous);
    const masters = others.filter((n) => cluster.nodes('master').includes(n));
    const pool = masters.length > 0 ? masters : others;
    const node = pool[Math.floor(Math.random() * pool.length)] ?? nodes[0];
    if (!node) {
      // Not connected yet: the first '+node' will do.
      cluster.once('+node', () => this.subscribeClusterNode(previous));
      return;
    }
    const key = `${node.options.host}:${node.options.port}`;
    const subscriber = node.duplicate({ lazyConnect: false, retryStrategy: () => null, readOnly: false, connectionName: `${node.options.connectionName ? `${node.options.connectionName}:` : ''}webtool-revocations` });
    this.subscriber = subscriber;
    this.listen(subscriber);
    subscriber.once('end', () => {
      if (this.closed || this.subscriber !== subscriber) return;
      const timer = setTimeout(() => this.subscribeClusterNode(key), RETRY_MS.first);
      timer.unref();
    });
    subscriber
      .subscribe(this.channel)
      .then(() => this.scheduleReload())
      .catch(() => subscriber.disconnect());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wake?.();
    this.firstDone();
    const client = this.cache.client;
    client.off('-node', this.onTopology);
    client.off('+node', this.onTopology);
    this.subscriber?.disconnect();
    await this.reloading?.catch(() => {});
  }
}
