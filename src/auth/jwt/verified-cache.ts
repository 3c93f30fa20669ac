/**
 * @module A bounded map of access tokens already verified, so a token reused across requests costs
 * one signature check per process. Expiry and revocation are still checked on every use by the caller.
 */
import { WriteOrderedMap } from '../../utils/write-ordered-map';

/**
 * A small number from the token's last characters (its signature's, effectively random), so a
 * lookup never hashes the whole token: hashing a new 300-character string costs more than the rest
 * of the lookup. Two tokens may share a number; the whole token is compared before an entry is used.
 */
function tailKey(token: string): number {
  let h = token.length;
  for (let i = Math.max(0, token.length - 8); i < token.length; i++) h = (h * 31 + token.charCodeAt(i)) & 0x3fffffff;
  return h;
}

interface Entry<V> {
  token: string;
  value: V;
}

/**
 * Least-recently-used map with a fixed capacity, keyed by the exact token string. A token whose
 * number another token's entry holds is a miss (and, once verified, takes the entry over).
 */
export class VerifiedTokenCache<V extends { exp: number }> {
  private readonly map: WriteOrderedMap<number, Entry<V>>;

  constructor(capacity: number) {
    this.map = new WriteOrderedMap(capacity);
  }

  get(token: string): V | undefined {
    const key = tailKey(token);
    const entry = this.map.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    // Re-written on use: write order is then recency order, and the least recently used is evicted.
    this.map.set(key, entry);
    return entry.value;
  }

  set(token: string, value: V): void {
    this.map.set(tailKey(token), { token, value });
  }

  delete(token: string): void {
    const key = tailKey(token);
    if (this.map.get(key)?.token === token) this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
