/**
 * @module `WriteOrderedMap`: a Map with a capacity, kept in write order; past the capacity the least
 * recently written key is evicted in amortised O(1). Shared by every bounded in-memory structure
 * (InMemoryCache, MemoryStore, the verified-token cache).
 */

export class WriteOrderedMap<K, V> implements Iterable<[K, V]> {
  private readonly map = new Map<K, V>();
  // A fresh `keys().next()` would walk every deleted slot at the front of V8's table first —
  // O(capacity) per eviction once full — so one live iterator is kept: it moves past deleted and
  // re-written keys and meets each live key in write order.
  private evictor?: IterableIterator<K>;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Writes `key` as the most recent; evicts the least recently written beyond the capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.oldest());
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.evictor = undefined;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private oldest(): K {
    for (;;) {
      this.evictor ??= this.map.keys();
      const next = this.evictor.next();
      if (!next.done) return next.value;
      this.evictor = undefined;
    }
  }
}
