/**
 * @module `WriteOrderedMap`: a Map with a capacity, kept in write order; past the capacity the least
 * recently written key is evicted in O(1). Shared by every bounded in-memory structure
 * (InMemoryCache, MemoryStore, the verified-token cache).
 */

/** One entry, linked into the write order (oldest at `head`, newest at `tail`). */
interface Node<K, V> {
  key: K;
  value: V;
  prev: Node<K, V> | undefined;
  next: Node<K, V> | undefined;
}

/**
 * A capacity-bounded map in write order (an intrusive doubly linked list over a `Map`).
 *
 * Issue 13 item 1: the previous version kept one `Map` iterator alive across writes to find the
 * oldest key, and a live iterator pins every hash table V8 has since replaced — the heap grew by tens
 * of MB per million writes once eviction had started. Here a rewrite only relinks its node (no Map
 * delete + set), eviction unlinks the head, and no iterator outlives a loop, so the heap stays flat.
 * @example const recent = new WriteOrderedMap<string, number>(10_000)
 */
export class WriteOrderedMap<K, V> implements Iterable<[K, V]> {
  private readonly map = new Map<K, Node<K, V>>();
  private head: Node<K, V> | undefined;
  private tail: Node<K, V> | undefined;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Writes `key` as the most recent; evicts the least recently written beyond the capacity. */
  set(key: K, value: V): void {
    let node = this.map.get(key);
    if (node) {
      node.value = value;
      if (node !== this.tail) {
        this.unlink(node);
        this.append(node);
      }
      return;
    }
    node = { key, value, prev: undefined, next: undefined };
    this.map.set(key, node);
    this.append(node);
    if (this.map.size > this.capacity) this.delete(this.head!.key);
  }

  delete(key: K): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.map.delete(key);
    this.unlink(node);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.head = this.tail = undefined;
  }

  /**
   * Entries oldest first. Deleting entries while iterating is safe (a deleted node keeps its forward
   * link, and only nodes still in the map are yielded); an entry rewritten meanwhile moves to the end.
   */
  *[Symbol.iterator](): IterableIterator<[K, V]> {
    for (let node = this.head; node; node = node.next) {
      if (this.map.get(node.key) === node) yield [node.key, node.value];
    }
  }

  private append(node: Node<K, V>): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  private unlink(node: Node<K, V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
  }
}
