/**
 * Token-service throughput, each figure counting only operations that did their work:
 * - createToken: pairs issued;
 * - validateAccessToken on one token (verified once, then the cache) and on DISTINCT tokens (each token
 *   validated exactly once, so every call verifies a signature — distinct by construction);
 * - updateToken: successful rotations only, each of a pair never rotated before, with its own subject;
 *   failures are reported beside it (they must be 0);
 * - one login's cost when the subject already has 1, 1,000 and 10,000 logins (it must stay flat).
 */
import { RedisCache, RedisJWTService } from '../src';
import { parseJWTOptions } from '../src/auth/jwt/options';
import { newTokenId, signToken } from '../src/auth/jwt/sign';

const CONCURRENCY = 50;

/** Runs `op` from 50 concurrent loops for `ms`; counts calls that returned true. */
async function throughput(ms: number, op: () => Promise<boolean | undefined>): Promise<{ perSecond: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const deadline = Date.now() + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const ok = await op();
        if (ok === undefined) return; // input exhausted
        if (ok) done++;
        else failed++;
      }
    }),
  );
  return { perSecond: Math.round(done / (ms / 1000)), failed };
}

export async function tokenThroughput(redisUrl: string, key: string): Promise<Record<string, number>> {
  const cache = new RedisCache(redisUrl, { keyPrefix: 'tokbench:' });
  const jwt = new RedisJWTService(cache, { secretKey: key });
  await jwt.ready;
  const out: Record<string, number> = {};

  const issued: { sub: string; access: string; refresh: string }[] = [];
  let n = 0;
  const create = await throughput(2000, async () => {
    const sub = `s${n++ % 1000}`;
    const [access, refresh] = await jwt.createToken({ sub });
    issued.push({ sub, access, refresh });
    return true;
  });
  out.createToken = create.perSecond;

  const first = issued[0].access;
  out['validateAccessToken (one token, verified once)'] = (await throughput(2000, async () => (await jwt.validateAccessToken(first)) !== null)).perSecond;

  // Distinct tokens signed ahead, each validated once: no call can be served from the verified cache.
  const config = parseJWTOptions({ secretKey: key });
  const iat = Math.floor(Date.now() / 1000);
  const distinct = await Promise.all(
    Array.from({ length: 60_000 }, () => signToken(config, { claims: { sub: 'distinct' }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat, ttlS: 3600 })),
  );
  let d = 0;
  out['validateAccessToken (distinct tokens, each once)'] = (
    await throughput(2000, async () => (d < distinct.length ? (await jwt.validateAccessToken(distinct[d++])) !== null : undefined))
  ).perSecond;

  let r = 0;
  const rotate = await throughput(2000, async () => {
    if (r >= issued.length) return undefined;
    const { sub, refresh } = issued[r++];
    return (await jwt.updateToken({ sub }, refresh)) !== null;
  });
  out['updateToken (successful rotations)'] = rotate.perSecond;
  out['updateToken failures'] = rotate.failed;

  // One login's cost as a subject's sessions grow.
  let logins = 0;
  for (const target of [1, 1000, 10_000]) {
    while (logins < target) {
      await Promise.all(Array.from({ length: Math.min(200, target - logins) }, () => jwt.createToken({ sub: 'many-sessions' })));
      logins = Math.min(target, logins + 200);
    }
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) await jwt.createToken({ sub: 'many-sessions' });
    out[`login µs at ${target} prior logins`] = Math.round(Number(process.hrtime.bigint() - started) / 1000 / 100);
    logins += 100;
  }

  await jwt.close();
  await cache.client.flushall();
  await cache.close();
  return out;
}
