/**
 * @module Sessions on Redis: each operation is ONE atomic Lua script over the subject's two keys
 * (both `{sub}`-tagged, so valid on Redis Cluster), using Redis server time, publishing revocations.
 */
import { join } from 'node:path';
import type { RedisCache } from '../../cache/redis-cache';
import { luaCommand, readLua, type LuaCommand } from '../../cache/lua';
import { redisKey } from '../../utils/redis-key';
import type { Revocation } from './revocation-registry';
import type { Lifetimes, Outcome, Presented, SessionStore, StoreResult } from './session-store';

const LUA_DIR = join(__dirname, '..');
const OPERATIONS = ['issue', 'rotate', 'check', 'revoke', 'revoke-all', 'search'] as const;
type Operation = (typeof OPERATIONS)[number];

function script(op: Operation): string {
  return `${readLua(LUA_DIR, 'sessions')}\n${readLua(LUA_DIR, op)}`;
}

function parseRevocations(flat: unknown[]): Revocation[] {
  const out: Revocation[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    out.push({ kind: flat[i] === 'f' ? 'f' : 'j', id: String(flat[i + 1]), untilMs: Number(flat[i + 2]) });
  }
  return out;
}

export class RedisSessionStore implements SessionStore {
  private readonly commands: Record<Operation, LuaCommand<unknown[]>>;

  constructor(private readonly cache: RedisCache, private readonly prefix: string, private readonly channel: string) {
    this.commands = Object.fromEntries(
      OPERATIONS.map((op) => [op, luaCommand<unknown[]>(cache.client, `webtoolSession_${op.replace('-', '_')}`, script(op))]),
    ) as Record<Operation, LuaCommand<unknown[]>>;
  }

  async issue(sub: string, fid: string, rjti: string, ajti: string, ttl: Lifetimes): Promise<void> {
    await this.call('issue', sub, ttl, [fid, rjti, ajti]);
  }

  rotate(p: Presented, rjti: string, ajti: string, ttl: Lifetimes): Promise<StoreResult> {
    return this.result('rotate', p.sub, ttl, [p.fid, p.jti, rjti, ajti]);
  }

  check(p: Presented, ttl: Lifetimes): Promise<StoreResult> {
    return this.result('check', p.sub, ttl, [p.fid, p.jti]);
  }

  revoke(p: Presented, ttl: Lifetimes, targetJti?: string): Promise<StoreResult> {
    return this.result('revoke', p.sub, ttl, [p.fid, p.jti, targetJti ?? '']);
  }

  async revokeAll(sub: string, ttl: Lifetimes): Promise<{ count: number; revocations: Revocation[] }> {
    const [count, ...rest] = await this.call('revoke-all', sub, ttl, []);
    return { count: Number(count), revocations: parseRevocations(rest) };
  }

  async search(sub: string): Promise<string[]> {
    const jtis = await this.call('search', sub, { refreshTtlMs: 1, accessTtlMs: 1 }, []);
    return jtis.map(String);
  }

  async close(): Promise<void> {}

  private async result(op: Operation, sub: string, ttl: Lifetimes, args: string[]): Promise<StoreResult> {
    const [outcome, ...rest] = await this.call(op, sub, ttl, args);
    return { outcome: outcome as Outcome, revocations: parseRevocations(rest) };
  }

  private call(op: Operation, sub: string, ttl: Lifetimes, args: string[]): Promise<unknown[]> {
    const keys = [redisKey(this.prefix, 'sess', sub), redisKey(this.prefix, 'rv', sub)];
    return this.cache.run(() => this.commands[op](keys, [ttl.refreshTtlMs, ttl.accessTtlMs, this.channel, ...args]));
  }
}
