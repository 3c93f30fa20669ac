/** @module Parses `SetOptions` once into an absolute expiry, with the same rules for every cache. */
import { InvalidOptionError } from '../errors';
import type { SetOptions } from './cache';

/** Expiry as Redis `SET` arguments, or none. */
export type ExpiryArgs = [] | ['PX', number] | ['PXAT', number];

/**
 * Validates `options` (at most one of ex/px/exat, each positive and finite).
 * @throws InvalidOptionError
 */
export function parseSetOptions(options: SetOptions = {}): { expiry: ExpiryArgs; nx: boolean } {
  const given = (['ex', 'px', 'exat'] as const).filter((name) => options[name] !== undefined);
  if (given.length > 1) throw new InvalidOptionError(given.join('/'), 'give at most one of ex, px and exat');
  const nx = options.nx === true;
  if (given.length === 0) return { expiry: [], nx };
  const name = given[0];
  const value = options[name] as number;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(name, 'must be a positive finite number');
  }
  if (name === 'ex') return { expiry: ['PX', Math.ceil(value * 1000)], nx };
  if (name === 'px') return { expiry: ['PX', Math.ceil(value)], nx };
  return { expiry: ['PXAT', Math.ceil(value * 1000)], nx };
}

/** The absolute expiry (ms since epoch) of parsed options, Infinity for none. */
export function expiresAt(expiry: ExpiryArgs, now: number): number {
  if (expiry.length === 0) return Infinity;
  return expiry[0] === 'PX' ? now + expiry[1] : expiry[1];
}
