import { expect } from 'chai';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { SessionBackend } from '../../src/auth/backends/session-backend';
import { identify } from '../../src/auth/identify';
import { jwksHandler } from '../../src/auth/jwks';
import { OIDCBackend } from '../../src/auth/oidc/oidc-backend';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import { InvalidOptionError } from '../../src/errors';
import { createStore } from '../../src/throttle/create-store';
import { ResilientStore } from '../../src/throttle/failure-policy';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { MemoryStore } from '../../src/throttle/memory-store';
import { RedisStore } from '../../src/throttle/redis-store';
import { makeEdKey } from '../../src/utils/make-key';
import { checkOptions, editDistance, nearestName } from '../../src/utils/options';

/** Asserts `fn` throws InvalidOptionError naming `option`, with `message` in its text. */
function rejects(fn: () => unknown, option: string, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).to.be.instanceOf(InvalidOptionError);
  expect(thrown).to.include({ code: 'ERR_WT_INVALID_OPTION', option });
  expect((thrown as Error).message).to.contain(message);
}

describe('checkOptions', () => {
  it('accepts known names and undefined options', () => {
    checkOptions({ maxKeys: 1 } as { maxKeys?: number }, ['maxKeys'], 'X');
    checkOptions(undefined as { maxKeys?: number } | undefined, ['maxKeys'], 'X');
  });

  it('names the unknown option and the nearest known one', () => {
    rejects(() => checkOptions({ legacyHeader: false } as object, ['standardHeaders', 'legacyHeaders'] as never, 'limitMiddleware'), 'legacyHeader', 'unknown option of limitMiddleware; did you mean `legacyHeaders`?');
  });

  it('lists the known names when none is close', () => {
    rejects(() => checkOptions({ zzz: 1 } as object, ['maxKeys', 'now'] as never, 'MemoryStore'), 'zzz', 'known options: maxKeys, now');
  });

  it('rejects options that are not an object', () => {
    rejects(() => checkOptions(null, [] as never, 'X'), 'X', 'options must be an object, got null');
    rejects(() => checkOptions([] as unknown, [] as never, 'X'), 'X', 'got an array');
  });

  it('suggests by case, edit distance, transposition and containment', () => {
    expect(nearestName('maxage', ['sessionName', 'maxAge'])).to.equal('maxAge');
    expect(nearestName('accessTokenExpiresIn', ['accessTokenExpireTime', 'refreshTokenExpireTime'])).to.equal('accessTokenExpireTime');
    expect(nearestName('prefix', ['keyPrefix', 'logger'])).to.equal('keyPrefix');
    expect(nearestName('algo', ['algorithm', 'skip'])).to.equal('algorithm');
    expect(nearestName('lgoger', ['logger'])).to.equal('logger');
    expect(nearestName('color', ['maxKeys', 'now'])).to.equal(undefined);
    expect(editDistance('ab', 'ba')).to.equal(1);
  });

  it('bounds the work on a huge option name (compares its first 64 characters)', () => {
    const started = process.hrtime.bigint();
    expect(nearestName('x'.repeat(1_000_000), ['keyPrefix'])).to.equal(undefined);
    expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(200);
  });
});

describe('unknown options are rejected at construction', () => {
  const cache = new InMemoryCache();
  after(() => cache.close());
  const secretKey = makeEdKey();

  it('limitMiddleware: legacyHeader → legacyHeaders', () => {
    rejects(() => limitMiddleware({ cache, legacyHeader: false } as never), 'legacyHeader', 'did you mean `legacyHeaders`?');
  });
  it('JWTService: accessTokenExpiresIn → accessTokenExpireTime', () => {
    rejects(() => new JWTService(cache, { secretKey, accessTokenExpiresIn: 60 } as never), 'accessTokenExpiresIn', 'did you mean `accessTokenExpireTime`?');
  });
  it('AnnoSessionBackend: maxage → maxAge', () => {
    rejects(() => new AnnoSessionBackend({ maxage: 60 } as never), 'maxage', 'did you mean `maxAge`?');
  });
  it('RedisCache: prefix → keyPrefix (before any connection is made)', () => {
    rejects(() => new RedisCache('redis://127.0.0.1:1', { prefix: 'app:' } as never), 'prefix', 'did you mean `keyPrefix`?');
  });
  it('InMemoryCache, MemoryStore, RedisStore, ResilientStore, createStore, IPBackend', () => {
    rejects(() => new InMemoryCache({ maxEntry: 10 } as never), 'maxEntry', 'did you mean `maxEntries`?');
    rejects(() => new MemoryStore({ maxkeys: 10 } as never), 'maxkeys', 'did you mean `maxKeys`?');
    rejects(() => new RedisStore({} as never, { timeout: 10 } as never), 'timeout', 'did you mean `timeoutMs`?');
    rejects(() => new ResilientStore(new MemoryStore(), { onFailur: 'open' } as never), 'onFailur', 'did you mean `onFailure`?');
    rejects(() => createStore(cache, { timeout: 50 } as never), 'timeout', 'did you mean `timeoutMs`?');
    rejects(() => new IPBackend({ ipv6subnet: 64 } as never), 'ipv6subnet', 'did you mean `ipv6Subnet`?');
  });
  it('SessionBackend, identify, OIDCBackend (and its introspection), jwksHandler, lock', async () => {
    const verify = () => null;
    rejects(() => new SessionBackend('sid', { verify, knd: 'user' } as never), 'knd', 'did you mean `kind`?');
    rejects(() => identify({ backend: [] } as never), 'backend', 'did you mean `backends`?');
    rejects(() => new OIDCBackend({ issuer: 'https://idp.example', audience: 'api', clockTolerance: 5 } as never), 'clockTolerance', 'did you mean `clockToleranceS`?');
    rejects(
      () => new OIDCBackend({ issuer: 'https://idp.example', audience: 'api', introspection: { clientId: 'a', clientSecret: 'b', cacheTtlMs: 1 } } as never),
      'cacheTtlMs',
      'did you mean `cacheMaxTtlMs`?',
    );
    rejects(() => jwksHandler(new JWTService(cache, { secretKey }), { maxAge: 60 } as never), 'maxAge', 'did you mean `maxAgeS`?');
    let refused: unknown;
    await cache.lock('options-spec', { ttl: 1000 } as never).catch((err) => (refused = err));
    expect(refused).to.be.instanceOf(InvalidOptionError).with.property('option', 'ttl');
  });
});

describe('required collaborators are checked at construction', () => {
  it('new JWTBackend() without a service throws instead of treating everyone as anonymous', () => {
    rejects(() => new (JWTBackend as unknown as new () => JWTBackend)(), 'service', 'new JWTBackend(jwtService)');
    rejects(() => new JWTBackend({} as never), 'service', 'is required');
  });
  it('new JWTService(undefined, options) throws at construction, not at the first call', () => {
    rejects(() => new JWTService(undefined as never, { secretKey: makeEdKey() }), 'cache', 'RedisCache or InMemoryCache');
  });
});
