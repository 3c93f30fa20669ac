/** @module Builds the caches and apps the HTTP specs run against. */
import type { Cache } from '../../src/cache/cache';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { redisUrl, uniquePrefix } from './redis';

export const quietLogger = { warn: () => {} };

/** A fresh cache of each kind; each Redis one under its own key prefix. */
export const CACHES: { name: string; make: () => Promise<Cache> }[] = [
  { name: 'InMemoryCache', make: async () => new InMemoryCache() },
  { name: 'RedisCache', make: async () => new RedisCache(await redisUrl(), { keyPrefix: uniquePrefix('http'), logger: quietLogger }) },
];

/** The Express majors the plain middleware must work on. */
export const EXPRESS_MAJORS: { name: string; load: () => typeof import('express') }[] = [
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  { name: 'Express 4', load: () => require('express') },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  { name: 'Express 5', load: () => require('express5') },
];

/** The `name=value` part of a Set-Cookie header. */
export function cookieOf(setCookie: string | string[] | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return (first ?? '').split(';')[0];
}
