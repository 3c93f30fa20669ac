/**
 * @module A bounded map of access tokens already verified, keyed by the exact token string, so a
 * token reused across requests costs one signature check per process. Expiry and revocation are
 * still checked on every use by the caller.
 */

/** Least-recently-used map with a fixed capacity. */
export class VerifiedTokenCache<V extends { exp: number }> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(token: string): V | undefined {
    const value = this.map.get(token);
    if (value === undefined) return undefined;
    // Re-insert: Map order is then recency order, and the first key is the eviction candidate.
    this.map.delete(token);
    this.map.set(token, value);
    return value;
  }

  set(token: string, value: V): void {
    this.map.delete(token);
    this.map.set(token, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }

  delete(token: string): void {
    this.map.delete(token);
  }

  clear(): void {
    this.map.clear();
  }
}
