/**
 * Keys: generate one, load it, and let the key pick the JWT algorithm.
 *   npx ts-node --transpile-only examples/keys.ts
 */
import { InMemoryCache, JWTService, loadKey, makeEdKey, makeSymmetricKey } from '../src';

async function main(): Promise<void> {
  const pem = makeEdKey(); // Ed25519, PKCS#8 PEM; makeEdKey({ save: 'jwt.pem' }) also writes it (mode 0600)
  console.log(loadKey(pem).algorithm); // 'EdDSA'
  console.log(loadKey(makeSymmetricKey({ algorithm: 'HS512' })).algorithm); // 'HS512'

  const cache = new InMemoryCache();
  const jwtService = new JWTService(cache, { secretKey: pem, accessTokenExpireTime: 900 });
  console.log(jwtService.algorithm); // 'EdDSA'

  await jwtService.close();
  await cache.close();
}

void main();
