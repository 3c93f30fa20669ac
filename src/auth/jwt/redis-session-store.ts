/**
 * @module Sessions on Redis: each operation is ONE atomic Lua script over the subject's three keys
 * (all `{sub}`-tagged, so valid on Redis Cluster), using Redis server time, publishing revocations in
 * one message per call. Formats: see the header of `src/auth/lua/sessions.lua`.
 */
import { join } from 'node:path';
import type { RedisCache } from '../../cache/redis-cache';
import { luaCommand, readLua, type LuaCommand } from '../../cache/lua';
import { CacheUnavailableError, OutcomeUnknownError } from '../../errors';
import { redisKey } from '../../utils/redis-key';
import { parseRevocation, type Revocation } from './revocation-registry';
import type { NextTokens, Outcome, Presented, SessionPolicy, SessionStore, StoreResult } from './session-store';

const LUA_DIR = join(__dirname, '..');
const OPERATIONS = ['issue', 'rotate', 'check', 'revoke', 'revoke-all', 'search'] as const;
type Operation = (typeof OPERATIONS)[number];
/** Operations whose effect a retry must not guess: a lost reply is reported as an unknown outcome. */
const CHANGES = new Set<Operation>(['rotate', 'revoke', 'revoke-all']);

function script(op: Operation): string {
  return `${readLua(LUA_DIR, 'sessions')}\n${readLua(LUA_DIR, op)}`;
}

function parseReply(reply: unknown[]): StoreResult {
  const [outcome, gen, iatS, ...rest] = reply;
  const revocations = rest.map((entry) => parseRevocation(String(entry))).filter((r): r is Revocation => r !== null);
  return { outcome: outcome as Outcome, gen: Number(gen), iatS: Number(iatS), revocations };
}

export class RedisSessionStore implements SessionStore {
  private readonly commands: Record<Operation, LuaCommand<unknown[]>>;

  constructor(private readonly cache: RedisCache, private readonly prefix: string, private readonly channel: string) {
    this.commands = Object.fromEntries(
      OPERATIONS.map((op) => [op, luaCommand<unknown[]>(cache.client, `webtoolSession2_${op.replace('-', '_')}`, script(op))]),
    ) as Record<Operation, LuaCommand<unknown[]>>;
  }

  async issue(sub: string, fid: string, next: NextTokens, policy: SessionPolicy): Promise<StoreResult> {
    return parseReply(await this.call('issue', sub, policy, [fid, next.rjti, next.accessExpMs, next.iatS]));
  }

  async rotate(p: Presented, next: NextTokens, policy: SessionPolicy): Promise<StoreResult> {
    return parseReply(await this.call('rotate', p.sub, policy, [p.fid, p.jti, next.rjti, next.accessExpMs, next.iatS]));
  }

  async check(p: Presented, policy: SessionPolicy): Promise<StoreResult> {
    return parseReply(await this.call('check', p.sub, policy, [p.fid, p.jti]));
  }

  async revoke(p: Presented, policy: SessionPolicy, targetJti?: string): Promise<StoreResult> {
    return parseReply(await this.call('revoke', p.sub, policy, [p.fid, p.jti, targetJti ?? '']));
  }

  async revokeAll(sub: string, policy: SessionPolicy): Promise<{ count: number; revocations: Revocation[] }> {
    const { gen, revocations } = parseReply(await this.call('revoke-all', sub, policy, []));
    return { count: gen, revocations };
  }

  async search(sub: string, policy: SessionPolicy): Promise<string[]> {
    return (await this.call('search', sub, policy, [])).map(String);
  }

  async close(): Promise<void> {}

  /**
   * @throws CacheUnavailableError when the script was certainly not run (Redis not connected);
   * OutcomeUnknownError when it was sent and may still take effect (a timeout, a connection lost
   * meanwhile: ioredis may re-send it after a failover).
   */
  private async call(op: Operation, sub: string, policy: SessionPolicy, args: (string | number)[]): Promise<unknown[]> {
    const keys = [redisKey(this.prefix, 'sess', sub), redisKey(this.prefix, 'sidx', sub), redisKey(this.prefix, 'rv', sub)];
    const argv = [policy.refreshTtlMs, policy.toleranceMs, this.channel, policy.maxSessions, policy.graceMs, ...args];
    // Written to a live connection: a lost reply leaves the outcome open. (A command queued while
    // reconnecting may also run later; the rotation is retry-safe either way.)
    const sent = this.cache.client.status === 'ready';
    try {
      return await this.cache.run(() => this.commands[op](keys, argv));
    } catch (err) {
      if (sent && err instanceof CacheUnavailableError && CHANGES.has(op)) {
        throw new OutcomeUnknownError(`the ${op} may or may not have taken effect; retrying the same call is safe`, { cause: err });
      }
      throw err;
    }
  }
}
