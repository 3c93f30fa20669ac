/**
 * @module Lua scripts kept in `.lua` files beside the module that runs them, registered once per
 * ioredis client with `defineCommand` (EVALSHA, with automatic reload on NOSCRIPT).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';

const sources = new Map<string, string>();

/** Reads `<dir>/lua/<name>.lua` once per process. Works from src/ (ts-node) and dist/ (copied by the build). */
export function readLua(dir: string, name: string): string {
  const file = join(dir, 'lua', `${name}.lua`);
  let source = sources.get(file);
  if (source === undefined) {
    source = readFileSync(file, 'utf8');
    sources.set(file, source);
  }
  return source;
}

/** A registered script: `(keys, args) => reply`. */
export type LuaCommand<T = unknown> = (keys: readonly string[], args: readonly (string | number)[]) => Promise<T>;

/**
 * Registers `name` on `client` (once) and returns a caller for it.
 * @example const consume = luaCommand(client, 'wtConsume', readLua(__dirname, 'consume'))
 */
export function luaCommand<T = unknown>(client: Redis | Cluster, name: string, lua: string): LuaCommand<T> {
  const target = client as unknown as Record<string, (...a: unknown[]) => Promise<T>>;
  if (typeof target[name] !== 'function') client.defineCommand(name, { lua });
  return (keys, args) => target[name](keys.length, ...keys, ...args);
}
