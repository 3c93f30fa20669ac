/**
 * @module The local set of revocations, so access validation needs no Redis round trip. One entry per
 * family (rotations replace it: the entry holds the lowest generation still valid) plus legacy per-jti
 * entries. Each entry lives until the revoked token's own `exp` plus the clock tolerance. The number of
 * entries is capped; over the cap the entry added first is dropped and every access token that expires
 * no later than the tokens it covered is refused from then on (fail closed: those clients refresh; tokens
 * issued after the revoked ones expire later and stay valid).
 */

/**
 * A revocation as published and stored: `f` a whole family, `g` the family's access tokens of a
 * generation below `gen`, `j` one access token (by jti; not emitted any more, still understood).
 */
export interface Revocation {
  kind: 'j' | 'f' | 'g';
  id: string;
  /** For `g`: tokens of a lower generation are revoked. */
  gen?: number;
  /** Epoch ms after which no token it affects can still be valid. */
  untilMs: number;
}

const ENTRY = /^([jfg]):([^:\s]+)(?::(\d+))?(?::(\d+))?$/;

/**
 * Parses one entry: a published `"f:<fid>:<until>"`, `"g:<fid>:<gen>:<until>"`, `"j:<jti>:<until>"`, or a
 * stored zset member (`"f:<fid>"`, `"g:<fid>:<gen>"`) with its score as `untilMs`. Null when malformed.
 */
export function parseRevocation(entry: string, untilMs?: number): Revocation | null {
  const match = ENTRY.exec(entry);
  if (!match) return null;
  const kind = match[1] as Revocation['kind'];
  const numbers = [match[3], match[4]].filter((n) => n !== undefined).map(Number);
  const needed = (kind === 'g' ? 1 : 0) + (untilMs === undefined ? 1 : 0);
  if (numbers.length !== needed) return null;
  const until = untilMs ?? numbers[numbers.length - 1];
  if (!Number.isFinite(until)) return null;
  return kind === 'g' ? { kind, id: match[2], gen: numbers[0], untilMs: until } : { kind, id: match[2], untilMs: until };
}

/** Parses a published message: one or more entries separated by spaces (one message per script call). */
export function parseRevocations(message: string): Revocation[] {
  const out: Revocation[] = [];
  for (const entry of message.split(' ')) {
    const revocation = parseRevocation(entry);
    if (revocation) out.push(revocation);
  }
  return out;
}

/** @default 100_000 entries (about 15 MB). */
export const DEFAULT_MAX_REVOCATIONS = 100_000;

interface Entry {
  /** Tokens of a lower generation are revoked (Infinity: all). */
  minGen: number;
  untilMs: number;
}

/** In-process registry of revocations, bounded by `maxEntries`. */
export class RevocationRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Access tokens expiring at or before this are refused: a dropped entry may have covered them. */
  private floorMs = 0;
  private timer?: NodeJS.Timeout;

  /**
   * @param maxEntries the cap
   * @param toleranceMs how far an entry's `untilMs` lies past the exp of the tokens it covers
   */
  constructor(readonly maxEntries = DEFAULT_MAX_REVOCATIONS, private readonly toleranceMs = 0, sweepIntervalMs = 30_000) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  add(revocation: Revocation): void {
    const key = `${revocation.kind === 'j' ? 'j' : 'f'}:${revocation.id}`;
    const minGen = revocation.kind === 'g' ? (revocation.gen ?? 0) : Infinity;
    const entry = this.entries.get(key);
    if (entry) {
      entry.minGen = Math.max(entry.minGen, minGen);
      entry.untilMs = Math.max(entry.untilMs, revocation.untilMs);
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evictOldest();
    this.entries.set(key, { minGen, untilMs: revocation.untilMs });
  }

  /**
   * True when the access token (`jti`, family `fid`, generation `gen`, expiring at `expMs`) is revoked,
   * or may have been (it expires before an entry that was dropped over the cap ended).
   */
  isRevoked(jti: string, fid: string, gen = 0, expMs = Infinity): boolean {
    if (this.entries.has(`j:${jti}`)) return true;
    const family = this.entries.get(`f:${fid}`);
    if (family && gen < family.minGen) return true;
    return expMs <= this.floorMs;
  }

  sweep(now = Date.now()): void {
    if (this.floorMs <= now) this.floorMs = 0;
    for (const [key, entry] of this.entries) if (entry.untilMs <= now) this.entries.delete(key);
  }

  /** Adds everything `other` holds (a service joining its in-process peers learns what they revoked). */
  copyFrom(other: RevocationRegistry): void {
    for (const [key, entry] of other.entries) {
      const kind = key[0] as 'j' | 'f';
      this.add(kind === 'j' ? { kind, id: key.slice(2), untilMs: entry.untilMs } : { kind: 'g', id: key.slice(2), gen: entry.minGen, untilMs: entry.untilMs });
    }
    this.floorMs = Math.max(this.floorMs, other.floorMs);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private evictOldest(): void {
    const first = this.entries.entries().next();
    if (first.done) return;
    this.entries.delete(first.value[0]);
    this.floorMs = Math.max(this.floorMs, first.value[1].untilMs - this.toleranceMs);
  }
}
