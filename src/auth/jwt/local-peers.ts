/**
 * @module Services of one process that share a cache object and a key prefix share their sessions,
 * so a revocation one of them makes applies to all of them at once (a login module and an API
 * module, say). Across processes, Redis pub/sub carries it (revocation-feed.ts).
 */
import type { RevocationRegistry } from './revocation-registry';

// cache object → key prefix → the registries of the live services on them (bounded by services).
const peers = new WeakMap<object, Map<string, Set<RevocationRegistry>>>();

/** Adds `registry` to its peers on (`cache`, `prefix`) and returns the set, shared by all of them. */
export function joinPeers(cache: object, prefix: string, registry: RevocationRegistry): Set<RevocationRegistry> {
  let byPrefix = peers.get(cache);
  if (!byPrefix) peers.set(cache, (byPrefix = new Map()));
  let set = byPrefix.get(prefix);
  if (!set) byPrefix.set(prefix, (set = new Set()));
  set.add(registry);
  return set;
}
