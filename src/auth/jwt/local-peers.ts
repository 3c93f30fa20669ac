/**
 * @module Services of one process that share a cache object and a key prefix share their sessions,
 * so a revocation one of them makes applies to all of them at once (a login module and an API
 * module, say). Across processes, Redis pub/sub carries it (revocation-feed.ts).
 */
import type { RevocationRegistry } from './revocation-registry';

// cache object → key prefix → the registries of the live services on them (bounded by services).
const peers = new WeakMap<object, Map<string, Set<RevocationRegistry>>>();

/**
 * Adds `registry` to its peers on (`cache`, `prefix`), after copying what they already revoked, and
 * returns the set, shared by all of them. Revocations live in the services' memory: once every
 * service on a cache object is closed, a new one starts without them (on Redis it reloads them).
 */
export function joinPeers(cache: object, prefix: string, registry: RevocationRegistry): Set<RevocationRegistry> {
  let byPrefix = peers.get(cache);
  if (!byPrefix) peers.set(cache, (byPrefix = new Map()));
  let set = byPrefix.get(prefix);
  if (!set) byPrefix.set(prefix, (set = new Set()));
  // Every peer holds every revocation made since it joined: one of them is enough to copy.
  const [peer] = set;
  if (peer) registry.copyFrom(peer);
  set.add(registry);
  return set;
}
