/**
 * A second process for the two-process spec: validates the access token given on stdin lines and
 * prints "valid"/"null" for each, using its own RedisJWTService on the same Redis and prefix.
 */
import { createInterface } from 'node:readline';
import { RedisCache } from '../../../src/cache/redis-cache';
import { RedisJWTService } from '../../../src/auth/redis-jwt-service';

async function main(): Promise<void> {
  const [url, keyPrefix] = process.argv.slice(2);
  const cache = new RedisCache(url, { logger: { warn: () => {} } });
  const jwt = new RedisJWTService(cache, { secretKey: process.env.WT_CHILD_KEY!, keyPrefix });
  await jwt.ready;
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line) continue;
    process.stdout.write(`${(await jwt.validateAccessToken(line)) ? 'valid' : 'null'}\n`);
  }
  await jwt.close();
  await cache.close();
}
void main();
