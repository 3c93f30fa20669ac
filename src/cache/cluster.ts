/**
 * @module The one place that tells a Redis Cluster client from a single Redis. An ioredis Cluster's
 * `constructor.name` is not `'Cluster'` (issue 13 item 9), so detection goes by class or by the
 * `isCluster` flag ioredis sets on every Cluster (which also survives two copies of ioredis).
 */
import type Redis from 'ioredis';
import { Cluster } from 'ioredis';

/** True when `client` is an ioredis Cluster. */
export function isCluster(client: unknown): client is Cluster {
  return client instanceof Cluster || (typeof client === 'object' && client !== null && (client as { isCluster?: unknown }).isCluster === true);
}

/**
 * The connections that hold data: every master of a Cluster, or the client itself.
 * @example for (const node of dataNodes(cache.client)) await node.scan('0')
 */
export function dataNodes(client: Redis | Cluster): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Redis Cluster's hash slots. */
const SLOTS = 16384;

/**
 * Whether every hash slot of a Cluster client's map is served by a master it is connected to. After a
 * failover the map can still name the dead master while its promoted replica is not yet known: reading
 * "every master" then silently skips that master's slots.
 */
export function coversAllSlots(client: Cluster): boolean {
  const masters = new Set(client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`));
  for (let slot = 0; slot < SLOTS; slot++) {
    const key = client.slots[slot]?.[0];
    if (key === undefined || !masters.has(key)) return false;
  }
  return true;
}

/** `host:port` of a connection, for messages (never the password or the URL). */
export function endpoint(client: Redis | Cluster): string {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    const named = nodes.map((node) => (typeof node === 'string' ? node.replace(/^.*@/, '') : node && typeof node === 'object' ? hostPort(node as HostPort) : String(node)));
    return named.length ? `cluster ${named.join(',')}` : 'cluster';
  }
  return hostPort(client.options);
}

interface HostPort {
  host?: string;
  port?: number;
  path?: string;
}

function hostPort(options: HostPort): string {
  if (options.path) return options.path;
  return `${options.host ?? 'localhost'}:${options.port ?? 6379}`;
}
