/**
 * @module A bounded map of access tokens already verified, keyed by the exact token string, so a
 * token reused across requests costs one signature check per process. Expiry and revocation are
 * still checked on every use by the caller.
 */
import { WriteOrderedMap } from '../../utils/write-ordered-map';

/** Least-recently-used map with a fixed capacity. */
export class VerifiedTokenCache<V extends { exp: number }> {
  private readonly map: WriteOrderedMap<string, V>;

  constructor(capacity: number) {
    this.map = new WriteOrderedMap(capacity);
  }

  get(token: string): V | undefined {
    const value = this.map.get(token);
    // Re-written on use: write order is then recency order, and the least recently used is evicted.
    if (value !== undefined) this.map.set(token, value);
    return value;
  }

  set(token: string, value: V): void {
    this.map.set(token, value);
  }

  delete(token: string): void {
    this.map.delete(token);
  }

  clear(): void {
    this.map.clear();
  }
}
