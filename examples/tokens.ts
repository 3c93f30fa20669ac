/**
 * The seed's token example: create a pair, rotate it, and see the old access token die.
 * Runs on the embedded InMemoryCache, or on Redis when REDIS_URL is set:
 *   npm run example:tokens
 */
import { InMemoryCache, JWTService, RedisCache, makeEdKey } from '../src';

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL;
  const cache = redisUrl ? new RedisCache(redisUrl) : new InMemoryCache();
  // On a RedisCache the service keeps sessions in Redis (Lua scripts, pub/sub revocations) by itself.
  const jwtService = new JWTService(cache, { secretKey: makeEdKey() });

  const userClaim = { sub: '123' };

  const [access, refresh] = await jwtService.createToken(userClaim);
  const [newAccess] = (await jwtService.updateToken(userClaim, refresh))!;

  console.log(await jwtService.validateAccessToken(access)); // null
  console.log(await jwtService.validateAccessToken(newAccess)); // { sub: '123', ... }

  await jwtService.close();
  await cache.close();
}

void main();
