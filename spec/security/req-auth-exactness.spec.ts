/** @module Attack: exact counting when sync (reused token) and async (fresh token) requests of one user interleave. */
import { expect } from 'chai';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';

const ok = (req: Request, res: Response) => res.json({ ok: true });

for (const major of EXPRESS_MAJORS) {
  describe(`attack: exactness with mixed paths on ${major.name}`, () => {
    it('one user, a warmed token and 30 fresh tokens at once: exactly the limit admitted', async () => {
      const cache = new InMemoryCache();
      const jwt = new JWTService(cache, { secretKey: makeEdKey() });
      const a = major.load()() as unknown as Express;
      a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
      a.get('/x', limiter(10, 60), ok);
      a.get('/warm', ok);
      const server = a.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const [warm] = await jwt.createToken({ sub: 'same' });
      await request(server).get('/warm').set('Authorization', `Bearer ${warm}`);
      const fresh: string[] = [];
      for (let i = 0; i < 30; i++) fresh.push((await jwt.createToken({ sub: 'same' }))[0]);
      const jobs: Promise<number>[] = [];
      for (let i = 0; i < 30; i++) {
        jobs.push(request(server).get('/x').set('Authorization', `Bearer ${fresh[i]}`).then((r) => r.status));
        jobs.push(request(server).get('/x').set('Authorization', `Bearer ${warm}`).then((r) => r.status));
      }
      const got = await Promise.all(jobs);
      expect(got.filter((s) => s === 200).length).to.equal(10);
      expect(got.filter((s) => s === 429).length).to.equal(50);
      server.close();
      await jwt.close();
      await cache.close();
    });

    it("'auth' in req is false for an anonymous caller (as before the accessor)", async () => {
      const cache = new InMemoryCache();
      const jwt = new JWTService(cache, { secretKey: makeEdKey() });
      const a = major.load()() as unknown as Express;
      a.use(identify({ backends: [new JWTBackend(jwt)] }));
      a.get('/w', (req, res) => res.json({ has: 'auth' in req, own: Object.keys(req).includes('auth') }));
      const [t] = await jwt.createToken({ sub: 'k' });
      expect((await request(a).get('/w')).body.has).to.equal(false);
      const u = (await request(a).get('/w').set('Authorization', `Bearer ${t}`)).body;
      expect(u.has).to.equal(true);
      await jwt.close();
      await cache.close();
    });
  });
}
