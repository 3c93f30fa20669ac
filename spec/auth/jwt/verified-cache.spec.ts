/**
 * @module The verified-token cache finds an entry by a number from the token's last characters and
 * then compares the whole token: tokens that share those characters (a forged header or payload in
 * front of a genuine signature) are never answered from another token's entry.
 */
import { expect } from 'chai';
import express, { type Request, type Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../../src/auth/backends/jwt-backend';
import { identify } from '../../../src/auth/identify';
import { JWTService } from '../../../src/auth/jwt-service';
import { VerifiedTokenCache } from '../../../src/auth/jwt/verified-cache';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { makeEdKey } from '../../../src/utils/make-key';

describe('VerifiedTokenCache', () => {
  // Same length and same last characters: the same slot.
  const genuine = 'aaaa.bbbb.signature-tail';
  const forged = 'zzzz.yyyy.signature-tail';

  it('never answers a token from the entry of another token that shares its last characters', () => {
    const cache = new VerifiedTokenCache<{ exp: number; who: string }>(10);
    cache.set(genuine, { exp: 1, who: 'genuine' });
    expect(cache.get(forged)).to.equal(undefined);
    cache.delete(forged); // not its entry: the genuine one stays
    expect(cache.get(genuine)).to.deep.equal({ exp: 1, who: 'genuine' });
    cache.set(forged, { exp: 2, who: 'forged' }); // a second verified token takes the slot over
    expect(cache.get(genuine)).to.equal(undefined);
    expect(cache.get(forged)).to.deep.equal({ exp: 2, who: 'forged' });
  });

  it('holds at most its capacity, evicting the least recently used', () => {
    const cache = new VerifiedTokenCache<{ exp: number }>(3);
    for (const t of ['t-1', 't-2', 't-3']) cache.set(t, { exp: 0 });
    cache.get('t-1');
    cache.set('t-4', { exp: 0 });
    expect(['t-1', 't-2', 't-3', 't-4'].map((t) => cache.get(t) !== undefined)).to.deep.equal([true, false, true, true]);
  });

  describe('behind JWTBackend', () => {
    const tokens = new InMemoryCache();
    const jwt = new JWTService(tokens, { secretKey: makeEdKey() });
    after(async () => {
      await jwt.close();
      await tokens.close();
    });
    const app = express();
    app.use(identify({ backends: [new JWTBackend(jwt)] }));
    app.get('/me', (req: Request, res: Response) => res.json({ user: req.auth?.identifier ?? null }));
    const me = async (authorization: string) => (await request(app).get('/me').set('Authorization', authorization).expect(200)).body.user;

    it('a forged payload in front of a cached token\'s signature stays anonymous', async () => {
      const [token] = await jwt.createToken({ sub: 'alice' });
      expect(await me(`Bearer ${token}`)).to.equal('alice');
      const [h, , s] = token.split('.');
      const payload = Buffer.from(JSON.stringify({ sub: 'admin', token_type: 'access', exp: 4e9 })).toString('base64url');
      expect(await me(`Bearer ${h}.${payload}.${s}`)).to.equal(null);
      expect(await me(`bearer   ${token}  `)).to.equal('alice'); // scheme in any case, spaces around
    });

    it('a spelling jose accepts but a Bearer header cannot carry is not remembered for headers', async () => {
      const [token] = await jwt.createToken({ sub: 'bob' });
      // jose's decoder skips whitespace inside the signature: the public API verifies this spelling;
      // a header must not be answered by it (RFC 6750 has no spaces inside a token).
      const sig = token.lastIndexOf('.') + 5;
      const spaced = `${token.slice(0, sig)} ${token.slice(sig)}`;
      expect(await jwt.validateAccessToken(spaced)).to.include({ sub: 'bob' });
      expect(await me(`Bearer ${spaced}`)).to.equal(null);
      expect(await me(`Bearer ${token}`)).to.equal('bob');
    });
  });
});
