/**
 * @module The local set of revoked access tokens (by jti) and revoked families (by fid), so access
 * validation needs no Redis round trip. Each entry lives only until the longest access token it can
 * affect has expired, so memory is bounded by the revocations of one access-token lifetime.
 */

/** A revocation as stored and published: `j` one access token, `f` a whole family. */
export interface Revocation {
  kind: 'j' | 'f';
  id: string;
  /** Epoch ms after which no token it affects can still be valid. */
  untilMs: number;
}

/** In-process registry of revocations. */
export class RevocationRegistry {
  private readonly entries = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(sweepIntervalMs = 30_000) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  add(revocation: Revocation): void {
    const key = `${revocation.kind}:${revocation.id}`;
    this.entries.set(key, Math.max(this.entries.get(key) ?? 0, revocation.untilMs));
  }

  /** True when the access token `jti` or its family `fid` was revoked. */
  isRevoked(jti: string, fid: string): boolean {
    return this.entries.has(`j:${jti}`) || this.entries.has(`f:${fid}`);
  }

  sweep(now = Date.now()): void {
    for (const [key, untilMs] of this.entries) if (untilMs <= now) this.entries.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
