/**
 * @module `identify()` on its own (no limiter, no rate-limit cache): req.auth, the recorded identity,
 * the one IP fallback, idempotence, and `limitMiddleware` reusing what it resolved. Express 4 and 5,
 * and routing-controllers' decorators and checkers with identify() alone.
 */
import 'reflect-metadata';
import { expect } from 'chai';
import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import request from 'supertest';
import { Authorized, CurrentUser, Get, JsonController, useExpressServer } from 'routing-controllers';
import type { AuthData } from '../../src/auth/auth-data';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import type { AuthBackend } from '../../src/auth/backends/backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { identify } from '../../src/auth/identify';
import { getIdentity } from '../../src/auth/identity';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { authorizationChecker, currentUserChecker } from '../../src/controllers/checkers';
import { CurrentAuth } from '../../src/controllers/current-auth';
import { InvalidOptionError } from '../../src/errors';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';

/** A backend that counts its calls. */
function counting(inner: AuthBackend): AuthBackend & { calls: number } {
  const backend = { kind: inner.kind, calls: 0, authenticate: (req: Request, res: Response) => (backend.calls++, inner.authenticate(req, res)) };
  return backend;
}

describe('identify', () => {
  const tokens = new InMemoryCache();
  const jwt = new JWTService(tokens, { secretKey: makeEdKey() });
  let token: string;
  before(async () => {
    [token] = await jwt.createToken({ sub: 'alice', scope: 'read' });
  });
  after(async () => {
    await jwt.close();
    await tokens.close();
  });

  const whoami = (req: Request, res: Response) => res.json({ auth: req.auth ?? null, identity: getIdentity(req)?.key ?? null });

  for (const major of EXPRESS_MAJORS) {
    describe(major.name, () => {
      function app(setup: (app: Express) => void): Express {
        const app = major.load()() as unknown as Express;
        app.set('trust proxy', true);
        setup(app);
        app.get('/whoami', whoami);
        return app;
      }

      it('sets req.auth for a valid token and records the identity limits count', async () => {
        const a = app((a) => a.use(identify({ backends: [new JWTBackend(jwt)] })));
        const res = await request(a).get('/whoami').set('Authorization', `Bearer ${token}`).expect(200);
        expect(res.body.auth).to.deep.include({ identifier: 'alice', scope: ['read'] });
        expect(res.body.identity).to.equal('u:alice');
        const anon = await request(a).get('/whoami').set('Authorization', 'Bearer forged').set('X-Forwarded-For', '203.0.113.5').expect(200);
        expect(anon.body).to.deep.equal({ auth: null, identity: 'a:ip:203.0.113.5' });
        expect(anon.headers).to.not.have.property('set-cookie');
      });

      it('removes a req.auth an upstream middleware set', async () => {
        const a = app((a) => {
          a.use((req: Request, res: Response, next: NextFunction) => ((req.auth = { identifier: 'root', scope: ['admin'], extra: {} }), next()));
          a.use(identify({ backends: [new JWTBackend(jwt)] }));
        });
        expect((await request(a).get('/whoami').expect(200)).body.auth).to.equal(null);
      });

      it('req.auth is the caller inside a mounted sub-app and router, and on the second use of a token (answered from the verified cache)', async () => {
        const sub = major.load()() as unknown as Express;
        sub.get('/whoami', whoami);
        const router = express.Router();
        router.get('/whoami', whoami);
        const a = app((a) => {
          a.use(identify({ backends: [new JWTBackend(jwt)] }));
          a.use('/sub', sub);
          a.use('/router', router);
        });
        for (const path of ['/whoami', '/sub/whoami', '/router/whoami', '/sub/whoami']) {
          const res = await request(a).get(path).set('Authorization', `Bearer ${token}`).expect(200);
          expect(res.body.auth, path).to.deep.include({ identifier: 'alice' });
          expect((await request(a).get(path).expect(200)).body.auth, `${path} anonymous`).to.equal(null);
        }
      });

      it('req.auth set by a middleware after identify() is what later handlers read; another app without identify() is untouched', async () => {
        const a = app((a) => {
          a.use(identify({ backends: [new JWTBackend(jwt)] }));
          a.use((req: Request, res: Response, next: NextFunction) => ((req.auth = { identifier: 'set-later', scope: null, extra: {} }), next()));
        });
        expect((await request(a).get('/whoami').set('Authorization', `Bearer ${token}`).expect(200)).body.auth.identifier).to.equal('set-later');
        const plain = major.load()() as unknown as Express;
        plain.get('/whoami', (req: Request, res: Response) => res.json({ auth: req.auth ?? null, own: Object.prototype.hasOwnProperty.call(req, 'auth') }));
        plain.get('/assign', (req: Request, res: Response) => ((req.auth = { identifier: 'mine', scope: null, extra: {} }), res.json({ auth: req.auth })));
        expect((await request(plain).get('/whoami').set('Authorization', `Bearer ${token}`).expect(200)).body).to.deep.equal({ auth: null, own: false });
        expect((await request(plain).get('/assign').expect(200)).body.auth.identifier).to.equal('mine');
      });

      it('a JWTService subclass that overrides validateAccessToken is asked on every request, a token it already verified included', async () => {
        let refuse = false;
        class Strict extends JWTService {
          override async validateAccessToken(t: string) {
            return refuse ? null : super.validateAccessToken(t);
          }
        }
        const strict = new Strict(tokens, { secretKey: makeEdKey() });
        const [mine] = await strict.createToken({ sub: 'bob' });
        const a = app((a) => a.use(identify({ backends: [new JWTBackend(strict)] })));
        expect((await request(a).get('/whoami').set('Authorization', `Bearer ${mine}`).expect(200)).body.identity).to.equal('u:bob');
        refuse = true;
        expect((await request(a).get('/whoami').set('Authorization', `Bearer ${mine}`).expect(200)).body.auth).to.equal(null);
        await strict.close();
      });

      it('groups the IP fallback by the configured ipv6Subnet (default 56)', async () => {
        const byDefault = app((a) => a.use(identify()));
        expect((await request(byDefault).get('/whoami').set('X-Forwarded-For', '2001:db8:1:2ab::9').expect(200)).body.identity).to.equal('a:ip:2001:db8:1:200::/56');
        const by64 = app((a) => a.use(identify({ ipv6Subnet: 64 })));
        expect((await request(by64).get('/whoami').set('X-Forwarded-For', '2001:db8:1:2ab::9').expect(200)).body.identity).to.equal('a:ip:2001:db8:1:2ab::/64');
      });

      it('resolves once per request when registered twice, and limitMiddleware reuses that identity', async () => {
        const backend = counting(new JWTBackend(jwt));
        const limitBackend = counting(new IPBackend());
        const a = app((a) => {
          a.use(identify({ backends: [backend] }));
          a.use(identify({ backends: [backend] }));
          a.use(limitMiddleware({ cache: new InMemoryCache(), backends: [limitBackend], logger: quietLogger }));
        });
        a.get('/limited', limiter(1, 60), whoami);
        const res = await request(a).get('/limited').set('Authorization', `Bearer ${token}`).expect(200);
        expect(res.body.identity).to.equal('u:alice');
        await request(a).get('/limited').set('Authorization', `Bearer ${token}`).expect(429);
        expect(backend.calls).to.equal(2);
        expect(limitBackend.calls).to.equal(0);
      });

      it('never sends a session cookie without a limiter, even with AnnoSessionBackend', async () => {
        const a = app((a) => a.use(identify({ backends: [new AnnoSessionBackend({ secret: 'k'.repeat(32), secure: false })] })));
        for (let i = 0; i < 3; i++) {
          const res = await request(a).get('/whoami').expect(200);
          expect(res.headers).to.not.have.property('set-cookie');
          expect(res.body.identity).to.equal('a:ip:127.0.0.1');
        }
      });

      it('reports a throwing backend once through the configured logger, and goes on', async () => {
        const lines: string[] = [];
        const broken: AuthBackend = { kind: 'user', authenticate: () => { throw new Error('secret detail'); } };
        const a = app((a) => a.use(identify({ backends: [broken, new IPBackend()], logger: { warn: (m) => lines.push(m) } })));
        for (let i = 0; i < 3; i++) expect((await request(a).get('/whoami').set('X-Forwarded-For', '192.0.2.1').expect(200)).body.identity).to.equal('a:ip:192.0.2.1');
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/ERR_WT_BACKEND_FAILED/);
        expect(lines[0]).to.not.contain('secret detail');
      });
    });
  }

  it('refuses bad options at creation, naming the option', () => {
    const cases: [unknown, string][] = [
      [{ backends: [{}] }, 'backends'],
      [{ backends: 'x' }, 'backends'],
      [{ ipv6Subnet: Number.NaN }, 'ipv6Subnet'],
      [{ logger: {} }, 'logger'],
    ];
    for (const [options, option] of cases) {
      try {
        identify(options as never);
        expect.fail(`accepted ${option}`);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).code).to.equal('ERR_WT_INVALID_OPTION');
        expect((err as InvalidOptionError).option).to.equal(option);
      }
    }
  });
});

@JsonController('/id')
class IdentifyOnlyController {
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
}

describe('identify with routing-controllers (no limiter, no rate-limit cache)', () => {
  const tokens = new InMemoryCache();
  const jwt = new JWTService(tokens, { secretKey: makeEdKey() });
  let app: Express;
  let reader: string;
  let admin: string;
  before(async () => {
    [reader] = await jwt.createToken({ sub: 'reader', scope: 'read' });
    [admin] = await jwt.createToken({ sub: 'boss', scope: 'read admin' });
    app = express();
    app.use(identify({ backends: [new JWTBackend(jwt)] }));
    useExpressServer(app, { controllers: [IdentifyOnlyController], authorizationChecker, currentUserChecker, defaultErrorHandler: true });
    // routing-controllers has answered already; don't let Express's final handler print the error.
    app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
      if (!res.headersSent) next(err);
    });
  });
  after(async () => {
    await jwt.close();
    await tokens.close();
  });

  it('@CurrentAuth({ required: true }): the AuthData, or 401 with WWW-Authenticate', async () => {
    expect((await request(app).get('/id/me').set('Authorization', `Bearer ${reader}`).expect(200)).body).to.deep.include({ identifier: 'reader', scope: ['read'] });
    const anon = await request(app).get('/id/me').expect(401);
    expect(anon.headers['www-authenticate']).to.equal('Bearer');
    expect(anon.body).to.deep.include({ status: 401, code: 'ERR_WT_UNAUTHORIZED' });
  });

  it('@CurrentUser() through currentUserChecker', async () => {
    expect((await request(app).get('/id/user').set('Authorization', `Bearer ${admin}`).expect(200)).body.user.identifier).to.equal('boss');
    expect((await request(app).get('/id/user').expect(200)).body.user).to.equal(null);
  });

  it('@Authorized(["admin"]): 401 anonymous, 403 without the scope, 200 with it', async () => {
    expect((await request(app).get('/id/admin').expect(401)).body.code).to.equal('ERR_WT_UNAUTHORIZED');
    expect((await request(app).get('/id/admin').set('Authorization', `Bearer ${reader}`).expect(403)).body.code).to.equal('ERR_WT_FORBIDDEN');
    await request(app).get('/id/admin').set('Authorization', `Bearer ${admin}`).expect(200);
  });
});
