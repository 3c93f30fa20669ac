/** @module Attack: identity on the optimised request path (req.auth accessor, sync token path). */
import 'reflect-metadata';
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { getIdentity } from '../../src/auth/identity';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { pastExpiry, startOfSecond } from '../support/until';

const whoami = (req: Request, res: Response) => res.json({ auth: req.auth?.identifier ?? null, identity: getIdentity(req)?.key ?? null });

for (const major of EXPRESS_MAJORS) {
  describe(`attack: identity on ${major.name}`, () => {
    const cache = new InMemoryCache();
    const jwt = new JWTService(cache, { secretKey: makeEdKey() });
    after(async () => {
      await jwt.close();
      await cache.close();
    });
    const mk = () => major.load()() as unknown as Express;

    it('a token verified by service A is not accepted by service B (other key) on the cached path', async () => {
      const cacheB = new InMemoryCache();
      const jwtB = new JWTService(cacheB, { secretKey: makeEdKey() });
      const [tokA] = await jwt.createToken({ sub: 'mallory' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', whoami);
      const b = mk();
      b.use(identify({ backends: [new JWTBackend(jwtB)] }));
      b.get('/w', whoami);
      for (let i = 0; i < 3; i++) expect((await request(a).get('/w').set('Authorization', `Bearer ${tokA}`)).body.auth).to.equal('mallory');
      for (let i = 0; i < 3; i++) expect((await request(b).get('/w').set('Authorization', `Bearer ${tokA}`)).body.auth).to.equal(null);
      await jwtB.close();
      await cacheB.close();
    });

    it('same key, different audience: a token cached by A is refused by B', async () => {
      const key = makeEdKey();
      const cA = new InMemoryCache();
      const sA = new JWTService(cA, { secretKey: key, issuer: 'i', audience: 'a' });
      const sB = new JWTService(cA, { secretKey: key, issuer: 'i', audience: 'b' });
      const [tokA] = await sA.createToken({ sub: 'mallory' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(sA)] }));
      a.get('/w', whoami);
      const b = mk();
      b.use(identify({ backends: [new JWTBackend(sB)] }));
      b.get('/w', whoami);
      for (let i = 0; i < 3; i++) expect((await request(a).get('/w').set('Authorization', `Bearer ${tokA}`)).body.auth).to.equal('mallory');
      for (let i = 0; i < 3; i++) expect((await request(b).get('/w').set('Authorization', `Bearer ${tokA}`)).body.auth).to.equal(null);
      await sA.close();
      await sB.close();
      await cA.close();
    });

    for (const what of ['invalidateToken', 'revokeAll', 'updateToken'] as const) {
      it(`a cached token is refused right after ${what} (sync path)`, async () => {
        const [acc, ref] = await jwt.createToken({ sub: `victim-${what}` });
        const a = mk();
        a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
        a.get('/w', limiter(1000, 60), whoami);
        for (let i = 0; i < 3; i++) expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(`victim-${what}`);
        if (what === 'invalidateToken') expect(await jwt.invalidateToken(ref)).to.equal(true);
        else if (what === 'revokeAll') await jwt.revokeAll(`victim-${what}`);
        else expect(await jwt.updateToken(ref)).to.not.equal(null);
        const res = await request(a).get('/w').set('Authorization', `Bearer ${acc}`);
        expect(res.body.auth).to.equal(null);
        expect(res.body.identity).to.match(/^a:/);
      });
    }

    it('a cached token is refused once it expired', async () => {
      const short = new JWTService(cache, { secretKey: makeEdKey(), accessTokenExpireTime: 2 });
      await startOfSecond(); // the token then lives about 2 s, not possibly only a few ms
      const [acc] = await short.createToken({ sub: 'shortlived' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(short)] }));
      a.get('/w', whoami);
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('shortlived');
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('shortlived');
      await pastExpiry(acc);
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
      await short.close();
    });

    it('a subclass validateAccessToken check is honoured on every use of a token', async () => {
      const banned = new Set<string>();
      class Checked extends JWTService {
        override async validateAccessToken(token: string) {
          const p = await super.validateAccessToken(token);
          return p && !banned.has(p.sub) ? p : null;
        }
      }
      const c = new InMemoryCache();
      const s = new Checked(c, { secretKey: makeEdKey() });
      const [acc] = await s.createToken({ sub: 'eve' });
      const a = mk();
      a.use(limitMiddleware({ cache: c, authBackend: new JWTBackend(s), annoBackend: false, logger: quietLogger }));
      a.get('/w', limiter(100, 60), whoami);
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('eve');
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('eve');
      banned.add('eve');
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
      await s.close();
      await c.close();
    });

    it('an instance-patched validateAccessToken is honoured on every use', async () => {
      const c = new InMemoryCache();
      const s = new JWTService(c, { secretKey: makeEdKey() });
      const [acc] = await s.createToken({ sub: 'eve2' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(s)] }));
      a.get('/w', whoami);
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('eve2');
      const orig = s.validateAccessToken.bind(s);
      s.validateAccessToken = async (t: string) => ((await orig(t)) ? null : null);
      expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
      await s.close();
      await c.close();
    });

    it('concurrent fresh and reused tokens of many users each see their own identity', async () => {
      const a = mk();
      a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
      a.use((req: Request, res: Response, next: NextFunction) => setTimeout(next, Math.random() * 5));
      a.get('/w', limiter(1000, 60), (req, res) => setTimeout(() => whoami(req, res), Math.random() * 5));
      const server = a.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const agent = request.agent(server);
      const users: [string, string][] = [];
      for (let i = 0; i < 20; i++) users.push([`u${i}`, (await jwt.createToken({ sub: `u${i}` }))[0]]);
      // warm half of them
      for (const [, t] of users.slice(0, 10)) await agent.get('/w').set('Authorization', `Bearer ${t}`);
      const jobs: Promise<void>[] = [];
      for (let r = 0; r < 5; r++)
        for (const [u, t] of users) {
          jobs.push(agent.get('/w').set('Authorization', `Bearer ${t}`).then((res) => { expect(res.body.auth, u).to.equal(u); expect(res.body.identity).to.equal(`u:${u}`); }));
          jobs.push(agent.get('/w').then((res) => { expect(res.body.auth).to.equal(null); }));
        }
      await Promise.all(jobs);
      server.close();
    });

    it('keep-alive: a token-less request after a token request on the same socket is anonymous', async () => {
      const [acc] = await jwt.createToken({ sub: 'ka' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', whoami);
      const server = a.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as AddressInfo;
      const agentK = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const get = (h: Record<string, string>) =>
        new Promise<any>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/w', agent: agentK, headers: h }, (res) => {
            let b = '';
            res.on('data', (d) => (b += d)).on('end', () => resolve(JSON.parse(b)));
          }).on('error', reject);
        });
      expect((await get({ authorization: `Bearer ${acc}` })).auth).to.equal('ka');
      expect((await get({ authorization: `Bearer ${acc}` })).auth).to.equal('ka');
      expect((await get({})).auth).to.equal(null);
      agentK.destroy();
      server.close();
    });

    it('an app without identify() in the same process never sees another app\'s auth', async () => {
      const [acc] = await jwt.createToken({ sub: 'other' });
      const a = mk();
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', whoami);
      const b = mk();
      b.get('/w', whoami);
      await request(a).get('/w').set('Authorization', `Bearer ${acc}`);
      expect((await request(b).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
      // sub app mounted inside a, identify only in a: sub sees a's identity (same request)
      const sub = mk();
      sub.get('/w', whoami);
      const c = mk();
      c.use(identify({ backends: [new JWTBackend(jwt)] }));
      c.use('/sub', sub);
      c.get('/w', whoami);
      expect((await request(c).get('/sub/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('other');
      expect((await request(c).get('/sub/w')).body.auth).to.equal(null);
      // sub-app with identify inside, parent without: anonymous request after must not leak
      const sub2 = mk();
      sub2.use(identify({ backends: [new JWTBackend(jwt)] }));
      sub2.get('/w', whoami);
      const d = mk();
      d.use('/sub', sub2);
      d.get('/w', whoami);
      expect((await request(d).get('/sub/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('other');
      expect((await request(d).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
    });

    it('upstream Object.defineProperty(req, "auth") cannot impersonate', async () => {
      const a = mk();
      a.use((req: Request, res: Response, next: NextFunction) => {
        Object.defineProperty(req, 'auth', { value: { identifier: 'root', scope: ['admin'], extra: {} }, writable: false, configurable: false, enumerable: true });
        next();
      });
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', whoami);
      const res = await request(a).get('/w');
      // Either refused (error) or anonymous: never 'root'.
      if (res.status === 200) expect(res.body.auth).to.equal(null);
      else expect(res.status).to.be.within(400, 599);
    });

    it('upstream getter-defined req.auth is removed', async () => {
      const a = mk();
      a.use((req: Request, res: Response, next: NextFunction) => {
        Object.defineProperty(req, 'auth', { get: () => ({ identifier: 'root', scope: ['admin'], extra: {} }), configurable: true });
        next();
      });
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', whoami);
      expect((await request(a).get('/w')).body.auth).to.equal(null);
    });
  });
}
