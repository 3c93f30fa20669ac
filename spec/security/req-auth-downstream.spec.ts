/** @module Attack: what middleware after identify() does to req.auth, and routing-controllers' view. */
import 'reflect-metadata';
import { expect } from 'chai';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { Authorized, Get, JsonController, useExpressServer } from 'routing-controllers';
import type { AuthData } from '../../src/auth/auth-data';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { authorizationChecker, currentUserChecker } from '../../src/controllers/checkers';
import { CurrentAuth } from '../../src/controllers/current-auth';
import { webtoolErrorHandler } from '../../src/controllers/error-handler';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';
import { makeEdKey } from '../../src/utils/make-key';

@JsonController('/rc')
class RcController {
  @Get('/me')
  me(@CurrentAuth() auth?: AuthData) {
    return { auth: auth?.identifier ?? null };
  }
  @Get('/admin')
  @Authorized(['admin'])
  admin() {
    return { admin: true };
  }
  @Get('/any')
  @Authorized()
  any() {
    return { any: true };
  }
}

describe('attack: downstream changes to req.auth', () => {
  const cache = new InMemoryCache();
  const jwt = new JWTService(cache, { secretKey: makeEdKey() });
  let admin: string;
  before(async () => {
    await jwt.createToken({ sub: 'alice', scope: 'read' });
    [admin] = await jwt.createToken({ sub: 'root', scope: ['admin'] });
  });
  after(async () => {
    await jwt.close();
    await cache.close();
  });

  for (const major of EXPRESS_MAJORS) {
    for (const how of ['delete req.auth', 'req.auth = undefined'] as const) {
      it(`${major.name}: "${how}" in a middleware after identify() makes the request anonymous`, async () => {
        const a = major.load()() as unknown as Express;
        a.use(identify({ backends: [new JWTBackend(jwt)] }));
        a.use((req: Request, res: Response, next: NextFunction) => {
          if (req.headers['x-disable'] === '1') {
            if (how === 'delete req.auth') delete req.auth;
            else req.auth = undefined;
          }
          next();
        });
        a.get('/w', (req, res) => res.json({ auth: req.auth?.identifier ?? null, own: Object.prototype.hasOwnProperty.call(req, 'auth') }));
        for (let i = 0; i < 2; i++) {
          const res = await request(a).get('/w').set('Authorization', `Bearer ${admin}`).set('x-disable', '1');
          expect(res.body.auth, `try ${i}`).to.equal(null);
        }
      });
    }
  }

  it('routing-controllers: a middleware that strips req.auth (delete) downgrades @Authorized / @CurrentAuth', async () => {
    const express = EXPRESS_MAJORS[0].load();
    const a = express() as unknown as Express;
    a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
    a.use((req: Request, res: Response, next: NextFunction) => {
      if (req.headers['x-disable'] === '1') delete req.auth;
      next();
    });
    useExpressServer(a, { controllers: [RcController], middlewares: [webtoolErrorHandler()], defaultErrorHandler: false, authorizationChecker, currentUserChecker });
    const seen: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      seen.push((await request(a).get('/rc/me').set('Authorization', `Bearer ${admin}`).set('x-disable', '1')).body.auth);
      seen.push((await request(a).get('/rc/admin').set('Authorization', `Bearer ${admin}`).set('x-disable', '1')).status);
    }
    expect(seen).to.deep.equal([null, 401, null, 401]);
  });

  it('routing-controllers: a middleware that replaces req.auth is what @Authorized sees (as before)', async () => {
    const express = EXPRESS_MAJORS[0].load();
    const a = express() as unknown as Express;
    a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
    a.use((req: Request, res: Response, next: NextFunction) => {
      if (req.auth) req.auth = { ...req.auth, scope: (req.auth.scope ?? []).filter((s) => s !== 'admin') };
      next();
    });
    useExpressServer(a, { controllers: [RcController], middlewares: [webtoolErrorHandler()], defaultErrorHandler: false, authorizationChecker, currentUserChecker });
    for (let i = 0; i < 2; i++) expect((await request(a).get('/rc/admin').set('Authorization', `Bearer ${admin}`)).status).to.equal(403);
  });

  it('routing-controllers: a second app in the process without identify(): @Authorized() is 401 even with a token seen elsewhere', async () => {
    const express = EXPRESS_MAJORS[0].load();
    const withId = express() as unknown as Express;
    withId.use(identify({ backends: [new JWTBackend(jwt)] }));
    withId.get('/w', (req, res) => res.json({ a: req.auth?.identifier }));
    await request(withId).get('/w').set('Authorization', `Bearer ${admin}`);
    const bare = express() as unknown as Express;
    useExpressServer(bare, { controllers: [RcController], middlewares: [webtoolErrorHandler()], defaultErrorHandler: false, authorizationChecker, currentUserChecker });
    expect((await request(bare).get('/rc/any').set('Authorization', `Bearer ${admin}`)).status).to.equal(401);
    expect((await request(bare).get('/rc/me').set('Authorization', `Bearer ${admin}`)).body.auth).to.equal(null);
  });

  it('routing-controllers: concurrent users each get their own @CurrentAuth', async () => {
    const express = EXPRESS_MAJORS[0].load();
    const a = express() as unknown as Express;
    a.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: false, logger: quietLogger }));
    a.use((req: Request, res: Response, next: NextFunction) => setTimeout(next, Math.random() * 4));
    useExpressServer(a, { controllers: [RcController], middlewares: [webtoolErrorHandler()], defaultErrorHandler: false, authorizationChecker, currentUserChecker });
    const server = a.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const toks: [string, string][] = [];
    for (let i = 0; i < 15; i++) toks.push([`c${i}`, (await jwt.createToken({ sub: `c${i}`, scope: i % 3 === 0 ? ['admin'] : [] }))[0]]);
    const jobs: Promise<void>[] = [];
    for (let r = 0; r < 4; r++)
      toks.forEach(([u, t], i) => {
        jobs.push(request(server).get('/rc/me').set('Authorization', `Bearer ${t}`).then((res) => void expect(res.body.auth).to.equal(u)));
        jobs.push(request(server).get('/rc/admin').set('Authorization', `Bearer ${t}`).then((res) => void expect(res.status).to.equal(i % 3 === 0 ? 200 : 403)));
        jobs.push(request(server).get('/rc/any').then((res) => void expect(res.status).to.equal(401)));
      });
    await Promise.all(jobs);
    server.close();
  });
});
