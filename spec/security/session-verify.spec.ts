/**
 * @module Issue 8 item 3: `SessionBackend` trusted any cookie. With `kind: 'user'` a made-up
 * `connect.sid` passed `@Authorized()` and `@CurrentAuth({ required: true })`, a random cookie per
 * request was a fresh identity each time (10 of 10 admitted at 3/min), and in a chain
 * `[SessionBackend, IPBackend]` `connect.sid=0..9` got 10 × 200. Now a session backend verifies the
 * session; an unverified value is never a user and never a budget of its own.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { Authorized, Get, JsonController, useExpressServer } from 'routing-controllers';
import type { AuthData } from '../../src/auth/auth-data';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { SessionBackend } from '../../src/auth/backends/session-backend';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { authorizationChecker, currentUserChecker } from '../../src/controllers/checkers';
import { CurrentAuth } from '../../src/controllers/current-auth';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { quietLogger } from '../support/app-factory';

/** The app's session store: only these sessions exist. */
const sessions = new Map<string, AuthData>([['s:real-session.sig', { identifier: 'carol', scope: ['member'], extra: {} }]]);
const verify = (value: string) => sessions.get(value) ?? null;
const randomCookie = () => `connect.sid=${randomBytes(12).toString('base64url')}`;

@JsonController('/sv')
class SessionController {
  @Get('/members')
  @Authorized()
  members() {
    return { secret: 'members only' };
  }

  @Get('/me')
  me(@CurrentAuth({ required: true }) auth: AuthData) {
    return auth;
  }
}

describe('SessionBackend verifies the session (issue 8 item 3)', () => {
  let cache: InMemoryCache;
  beforeEach(() => {
    cache = new InMemoryCache();
  });
  afterEach(async () => {
    await cache.close();
  });

  function rcApp(): Express {
    const app = express();
    app.use(limitMiddleware({ cache, backends: [new SessionBackend('connect.sid', { kind: 'user', verify })], logger: quietLogger }));
    useExpressServer(app, { controllers: [SessionController], authorizationChecker, currentUserChecker, defaultErrorHandler: true });
    app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
      if (!res.headersSent) next(err);
    });
    return app;
  }

  it('a made-up connect.sid passes neither @Authorized() nor @CurrentAuth({ required: true })', async () => {
    const app = rcApp();
    for (const cookie of ['connect.sid=made-up', 'connect.sid=s%3Areal-session.forged', randomCookie()]) {
      const members = await request(app).get('/sv/members').set('Cookie', cookie).expect(401);
      expect(members.body.code).to.equal('ERR_WT_UNAUTHORIZED');
      expect(JSON.stringify(members.body)).to.not.contain('members only');
      expect((await request(app).get('/sv/me').set('Cookie', cookie).expect(401)).headers['www-authenticate']).to.equal('Bearer');
    }
    await request(app).get('/sv/members').set('Cookie', 'connect.sid=s%3Areal-session.sig').expect(200, { secret: 'members only' });
    expect((await request(app).get('/sv/me').set('Cookie', 'connect.sid=s%3Areal-session.sig').expect(200)).body.identifier).to.equal('carol');
  });

  it('a random cookie per request is not a fresh budget: limit 3/min admits 3 of 10', async () => {
    const app = express();
    app.use(limitMiddleware({ cache, backends: [new SessionBackend('connect.sid', { kind: 'user', verify })], logger: quietLogger }));
    app.get('/three', limiter(3, 60), (req, res) => res.json({ user: req.auth?.identifier ?? null }));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await request(app).get('/three').set('Cookie', randomCookie());
      statuses.push(res.status);
      if (res.status === 200) expect(res.body.user).to.equal(null);
    }
    expect(statuses).to.deep.equal([200, 200, 200, ...Array(7).fill(429)]);
  });

  it('in a chain [SessionBackend, IPBackend], connect.sid=0..9 is counted by IP: 3 × 200 then 429', async () => {
    const app = express();
    app.use(limitMiddleware({ cache, backends: [new SessionBackend('connect.sid', { verify }), new IPBackend()], logger: quietLogger }));
    app.get('/three', limiter(3, 60), (req, res) => res.json({ ok: true }));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await request(app).get('/three').set('Cookie', `connect.sid=${i}`)).status);
    expect(statuses).to.deep.equal([200, 200, 200, ...Array(7).fill(429)]);
    // A verified session has a budget of its own.
    for (let i = 0; i < 3; i++) await request(app).get('/three').set('Cookie', 'connect.sid=s%3Areal-session.sig').expect(200);
    await request(app).get('/three').set('Cookie', 'connect.sid=s%3Areal-session.sig').expect(429);
  });

  it('the same session in double quotes (RFC 6265; express-session strips them) is the same budget, not a second one', async () => {
    const app = express();
    const lenient = (value: string) => sessions.get(value.replace(/^"(.*)"$/, '$1')) ?? null; // as express-session reads it
    app.use(limitMiddleware({ cache, backends: [new SessionBackend('connect.sid', { verify: lenient }), new IPBackend()], logger: quietLogger }));
    app.get('/three', limiter(3, 60), (req, res) => res.json({ ok: true }));
    const statuses: number[] = [];
    for (const cookie of ['connect.sid=s%3Areal-session.sig', 'connect.sid="s%3Areal-session.sig"']) {
      for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/three').set('Cookie', cookie)).status);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 429, 429, 429]);
  });

  it('a verify that throws falls through to the next backend, never a 500', async () => {
    const app = express();
    const failing = new SessionBackend('connect.sid', { kind: 'user', verify: () => { throw new Error('store down'); } });
    app.use(limitMiddleware({ cache, backends: [failing, new IPBackend()], logger: quietLogger }));
    app.get('/three', limiter(3, 60), (req, res) => res.json({ user: req.auth?.identifier ?? null }));
    for (let i = 0; i < 3; i++) expect((await request(app).get('/three').set('Cookie', 'connect.sid=s%3Areal-session.sig').expect(200)).body.user).to.equal(null);
    await request(app).get('/three').set('Cookie', randomCookie()).expect(429);
  });
});
