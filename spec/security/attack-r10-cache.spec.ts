/**
 * @module Attack round 10: the verified-token cache never changes a verdict. A token verified once and
 * then presented in another spelling (trailing spaces, scheme case, padding, a sibling last character…)
 * gets the answer a service that never saw it gives; and a service built with other keys on the same
 * cache does not inherit what another service verified.
 */
import { createPrivateKey } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { expect } from 'chai';
import { identify, InMemoryCache, JWTBackend, JWTService, makeEdKey, makeSymmetricKey, type JWTServiceOptions } from '../../src';

function appOf(service: JWTService): Express {
  const app = express();
  app.use(identify({ backends: [new JWTBackend(service)] }));
  app.get('/whoami', (req, res) => res.json({ user: req.auth?.identifier ?? null }));
  return app;
}
async function who(app: Express, authorization: string): Promise<string> {
  const res = await request(app).get('/whoami').set('Authorization', authorization);
  return res.status === 200 ? String(res.body.user) : `status ${res.status}`;
}
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

for (const [keyName, makeKey] of [['Ed25519', () => makeEdKey()], ['HS256', () => makeSymmetricKey()]] as const) {
  for (const keyId of [undefined, 'k1']) {
    describe(`Attack r10: verified-token cache, ${keyName}, ${keyId ? 'keyId' : 'no keyId'}`, function () {
      this.timeout(30_000);
      const services: JWTService[] = [];
      after(async () => { for (const s of services) await s.close(); });
      const make = (cache: InMemoryCache, o: Partial<JWTServiceOptions<{ sub: string }>>) => {
        const s = new JWTService(cache, o as JWTServiceOptions<{ sub: string }>);
        services.push(s);
        return s;
      };

      it('answers every spelling of a verified token as a service that never saw it does', async () => {
        const key = makeKey();
        const warm = make(new InMemoryCache(), { secretKey: key, keyId });
        const [t] = await warm.createToken({ sub: 'victim' });
        const warmApp = appOf(warm);
        expect(await who(warmApp, `Bearer ${t}`)).to.equal('victim');
        const sig = t.split('.')[2];
        const last = B64URL.indexOf(sig[sig.length - 1]);
        const sibling = `${t.slice(0, -1)}${B64URL[last ^ 1]}`;
        const spellings = [`Bearer ${t}   `, `bearer ${t}`, `BEARER   ${t}`, `Bearer ${t}==`, `Bearer ${t}=`, `Bearer ${t}\t`, `Bearer\t${t}`,
          `Bearer ${t}.`, `Bearer ${t} x`, `Bearer ${sibling}`, `Bearer ${t.replace('.', '..')}`, ` Bearer ${t}`, `Bearer ${t.slice(0, -1)}`];
        const warmAnswers: string[] = [];
        for (const s of spellings) warmAnswers.push(await who(warmApp, s));
        const cold = appOf(make(new InMemoryCache(), { secretKey: key, keyId }));
        const coldAnswers: string[] = [];
        for (const s of spellings) coldAnswers.push(await who(appOf(make(new InMemoryCache(), { secretKey: key, keyId })), s));
        expect(warmAnswers).to.deep.equal(coldAnswers);
        // Observed (jose decodes leniently): padding and a sibling last character of the signature are accepted too.
        expect(warmAnswers.every((a) => a === 'victim' || a === 'null')).to.equal(true);
        // Spellings RFC 6750 allows for the same credential are the same caller.
        expect(warmAnswers.slice(0, 3)).to.deep.equal(['victim', 'victim', 'victim']);
        expect(await who(cold, `Bearer ${t}`)).to.equal('victim');
      });

      it('a service with other keys on the same cache refuses a token another service verified', async () => {
        const cache = new InMemoryCache();
        const k1 = makeKey();
        const k2 = makeKey();
        const a = make(cache, { secretKey: k1, keyId });
        const [t] = await a.createToken({ sub: 'victim' });
        expect(await who(appOf(a), `Bearer ${t}`)).to.equal('victim');
        expect(await a.validateAccessToken(t)).to.include({ sub: 'victim' });
        const rotatedOut = make(cache, { secretKey: k2, keyId: keyId && 'k2' });
        expect(await rotatedOut.validateAccessToken(t)).to.equal(null);
        expect(await who(appOf(rotatedOut), `Bearer ${t}`)).to.equal('null');
        if (keyId) {
          const stillTrusted = make(cache, { secretKey: k2, keyId: 'k2', previousKeys: [{ kid: 'k1', key: keyName === 'HS256' ? k1 : createPrivateKey(k1) }] });
          expect(await stillTrusted.validateAccessToken(t)).to.include({ sub: 'victim' });
          const otherKid = make(cache, { secretKey: k2, keyId: 'k2', previousKeys: [{ kid: 'k0', key: k1 }] });
          expect(await otherKid.validateAccessToken(t)).to.equal(null);
        }
        await a.close();
        expect(await a.validateAccessToken('x')).to.equal(null);
      });
    });
  }
}
