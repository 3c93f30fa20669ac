import { expect } from 'chai';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { makeEdKey } from '../../../src/utils/make-key';
import { JWTService } from '../../../src/auth/jwt-service';
import { jwtServiceContract } from './jwt-service.contract';

jwtServiceContract('JWTService on InMemoryCache', async (options) => {
  const cache = new InMemoryCache();
  const service = new JWTService(cache, options);
  const close = service.close.bind(service);
  service.close = async () => {
    await close();
    await cache.close();
  };
  return service;
});

describe('JWTService options', () => {

  it('signs with an encrypted PEM given its password, and refuses it without', async () => {
    const cache = new InMemoryCache();
    const pem = makeEdKey({ password: 'pem-pass' });
    expect(() => new JWTService(cache, { secretKey: pem })).to.throw(/secretKey/);
    const jwt = new JWTService(cache, { secretKey: pem, password: 'pem-pass' });
    const [access] = await jwt.createToken({ sub: 'p' });
    expect(await jwt.validateAccessToken(access)).to.include({ sub: 'p' });
    await jwt.close();
    await cache.close();
  });

  it('stays correct with a verified-token cache smaller than the tokens in use', async () => {
    const cache = new InMemoryCache();
    const jwt = new JWTService(cache, { secretKey: makeEdKey(), verifiedTokenCacheSize: 1 });
    const pairs = await Promise.all([1, 2, 3].map((n) => jwt.createToken({ sub: `v${n}` })));
    for (let round = 0; round < 3; round++) {
      for (const [access] of pairs) expect(await jwt.validateAccessToken(access)).to.not.equal(null);
    }
    await jwt.invalidateToken(pairs[1][1]);
    expect(await jwt.validateAccessToken(pairs[1][0])).to.equal(null);
    expect(await jwt.validateAccessToken(pairs[2][0])).to.not.equal(null);
    await jwt.close();
    await cache.close();
  });
});
