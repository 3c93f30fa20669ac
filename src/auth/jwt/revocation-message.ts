/** @module The revocation message format the scripts publish and store: "<kind>:<id>:<until ms>". */
import type { Revocation } from './revocation-registry';

/** Parses "<kind>:<id>:<until ms>" (or "<kind>:<id>" with `untilMs` given, as stored in the zsets). */
export function parseRevocation(message: string, untilMs?: number): Revocation | null {
  const match = /^([jf]):([^:]+)(?::(\d+))?$/.exec(message);
  if (!match) return null;
  const until = untilMs ?? Number(match[3]);
  return Number.isFinite(until) ? { kind: match[1] as 'j' | 'f', id: match[2], untilMs: until } : null;
}
