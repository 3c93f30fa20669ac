import 'reflect-metadata';
import { expect } from 'chai';
import express, { type Express } from 'express';
import request from 'supertest';
import { Authorized, CurrentUser, Get, JsonController, Post, useExpressServer } from 'routing-controllers';
import type { AuthData } from '../../src/auth/auth-data';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { JWTService } from '../../src/auth/jwt-service';
import type { Cache } from '../../src/cache/cache';
import { authorizationChecker, currentUserChecker } from '../../src/controllers/checkers';
import { CurrentAuth } from '../../src/controllers/current-auth';
import { getLimiterRules, Limiter } from '../../src/controllers/limiter';
import { InvalidOptionError } from '../../src/errors';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { makeEdKey } from '../../src/utils/make-key';
import { CACHES } from '../support/app-factory';

@JsonController('/rc')
class RcController {
  @Get('/four')
  @Limiter(4, 10)
  four() {
    return { ok: true };
  }

  @Get('/split')
  @Limiter(2, 10, ['user'])
  @Limiter(1, 10, ['anno'])
  split(@CurrentAuth() auth?: AuthData) {
    return { user: auth?.identifier ?? null };
  }

  @Post('/write')
  @Limiter(1, 10, [], { method: 'POST' })
  @Limiter(5, 10)
  write() {
    return { ok: true };
  }

  @Get('/me')
  me(@CurrentAuth({ required: true }) auth: AuthData) {
    return auth;
  }

  @Get('/user')
  user(@CurrentUser() user?: AuthData) {
    return { user: user ?? null };
  }

  @Get('/admin')
  @Authorized(['admin'])
  admin() {
    return { ok: true };
  }

  @Get('/members')
  @Authorized()
  members() {
    return { ok: true };
  }
}

const secretKey = makeEdKey();

for (const cacheKind of CACHES) {
  describe(`routing-controllers layer with ${cacheKind.name}`, () => {
    let cache: Cache;
    let jwt: JWTService;
    let app: Express;
    let reader: string;
    let admin: string;

    beforeEach(async () => {
      cache = await cacheKind.make();
      jwt = new JWTService(cache, { secretKey });
      [reader] = await jwt.createToken({ sub: 'reader', scope: 'read' });
      [admin] = await jwt.createToken({ sub: 'boss', scope: 'read admin' });
      app = express();
      app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 'x'.repeat(32) }) }));
      useExpressServer(app, { controllers: [RcController], authorizationChecker, currentUserChecker, defaultErrorHandler: true });
      app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
        if (!res.headersSent) next(err);
      });
    });

    afterEach(async () => {
      await jwt.close();
      await cache.close();
    });

    it('@Limiter(4, 10): 4 × 200 then 429 with the rate-limit fields', async () => {
      const auth = { Authorization: `Bearer ${reader}` };
      for (let i = 0; i < 4; i++) {
        const res = await request(app).get('/rc/four').set(auth).expect(200);
        expect(res.headers.ratelimit).to.equal(`"4-in-10s";r=${3 - i};t=10`);
      }
      const denied = await request(app).get('/rc/four').set(auth).expect(429);
      expect(denied.body.status).to.equal(429);
      expect(denied.headers['retry-after']).to.match(/^\d+$/);
    });

    it('stacks user and anno limits on one action, decided in one call', async () => {
      const anon = request.agent(app);
      await anon.get('/rc/split').expect(200); // by IP: no cookie yet
      await anon.get('/rc/split').expect(200); // by session
      await anon.get('/rc/split').expect(429);
      const auth = { Authorization: `Bearer ${reader}` };
      expect((await request(app).get('/rc/split').set(auth).expect(200)).body.user).to.equal('reader');
      await request(app).get('/rc/split').set(auth).expect(200);
      await request(app).get('/rc/split').set(auth).expect(429);
      expect(getLimiterRules(RcController.prototype, 'split')).to.have.length(2);
    });

    it('filters by method and counts a denied request against no rule', async () => {
      const auth = { Authorization: `Bearer ${reader}` };
      const first = await request(app).post('/rc/write').set(auth).expect(200);
      expect(first.headers['ratelimit-policy']).to.contain('"1-in-10s-POST";q=1;w=10');
      const denied = await request(app).post('/rc/write').set(auth).expect(429);
      expect(denied.headers.ratelimit).to.match(/"5-in-10s";r=4;/);
    });

    it('@CurrentAuth() gives the AuthData; required answers 401 with WWW-Authenticate', async () => {
      const res = await request(app).get('/rc/me').set('Authorization', `Bearer ${reader}`).expect(200);
      expect(res.body).to.deep.include({ identifier: 'reader', scope: ['read'] });
      const anon = await request(app).get('/rc/me').expect(401);
      expect(anon.headers['www-authenticate']).to.equal('Bearer');
      expect(anon.body).to.deep.include({ status: 401, code: 'ERR_WT_UNAUTHORIZED' });
      const bad = await request(app).get('/rc/me').set('Authorization', 'Bearer not.a.token').expect(401);
      expect(bad.headers['www-authenticate']).to.equal('Bearer error="invalid_token"');
      expect(JSON.stringify(bad.body)).to.not.contain('not.a.token');
    });

    it('@CurrentUser() works through currentUserChecker', async () => {
      expect((await request(app).get('/rc/user').set('Authorization', `Bearer ${admin}`).expect(200)).body.user.identifier).to.equal('boss');
      expect((await request(app).get('/rc/user').expect(200)).body.user).to.equal(null);
    });

    it('@Authorized: 401 for anonymous callers, 403 for a missing scope, 200 with it', async () => {
      const anon = await request(app).get('/rc/admin').expect(401);
      expect(anon.headers['www-authenticate']).to.equal('Bearer');
      expect(anon.body.code).to.equal('ERR_WT_UNAUTHORIZED');
      const forbidden = await request(app).get('/rc/admin').set('Authorization', `Bearer ${reader}`).expect(403);
      expect(forbidden.body).to.deep.include({ status: 403, code: 'ERR_WT_FORBIDDEN' });
      // RFC 6750 §3.1: the token is valid but lacks the scope
      expect(forbidden.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope", scope="admin"');
      await request(app).get('/rc/admin').set('Authorization', `Bearer ${admin}`).expect(200);
      await request(app).get('/rc/members').expect(401);
      await request(app).get('/rc/members').set('Authorization', `Bearer ${reader}`).expect(200);
    });
  });
}

describe('@Limiter', () => {
  it('refuses bad arguments when the class is defined', () => {
    expect(() => Limiter(0, 10)).to.throw(InvalidOptionError, /maxRequests/);
    expect(() => Limiter(1, 10, ['user'], { method: 'G ET' })).to.throw(InvalidOptionError, /method/);
  });
});
