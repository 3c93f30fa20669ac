import 'reflect-metadata';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import {
  Authorized,
  BadRequestError,
  Get,
  getMetadataArgsStorage,
  JsonController,
  NotFoundError,
  useExpressServer,
} from 'routing-controllers';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { JWTService } from '../../src/auth/jwt-service';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { authorizationChecker, currentUserChecker } from '../../src/controllers/checkers';
import { CurrentAuth } from '../../src/controllers/current-auth';
import { webtoolErrorHandler } from '../../src/controllers/error-handler';
import { CacheUnavailableError, InvalidOptionError } from '../../src/errors';
import { errorHandler } from '../../src/express/error-handler';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { makeEdKey } from '../../src/utils/make-key';

@JsonController('/eh')
class ErrorsController {
  @Get('/me')
  me(@CurrentAuth({ required: true }) auth: unknown) {
    return auth;
  }

  @Get('/admin')
  @Authorized(['admin'])
  admin() {
    return { ok: true };
  }

  @Get('/missing')
  missing() {
    throw new NotFoundError('no such report');
  }

  @Get('/invalid')
  invalid() {
    const err = new BadRequestError('Invalid body') as BadRequestError & { errors: unknown[] };
    err.errors = [{ property: 'password', value: 'hunter2-secret', target: { password: 'hunter2-secret' }, constraints: { minLength: 'too short' } }];
    throw err;
  }

  @Get('/crash')
  crash() {
    throw new Error('connect failed to redis://app:s3cr3t-pw@db.internal:6379 for Bearer eyJhbGciOi.eyJzdWIi.c2ln (Basic YWxpY2U6aHVudGVyMg==, password=hunter2, api_key=k3y-9f)');
  }

  @Get('/down')
  down() {
    throw new CacheUnavailableError('redis timed out');
  }
}

/** Everything the process would print, captured: console.* and both streams. */
function capture() {
  const lines: string[] = [];
  const saved = { error: console.error, warn: console.warn, log: console.log, out: process.stdout.write, err: process.stderr.write };
  const keep = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  console.error = keep;
  console.warn = keep;
  console.log = keep;
  process.stderr.write = ((chunk: unknown) => (keep(chunk), true)) as typeof process.stderr.write;
  return {
    lines,
    restore() {
      Object.assign(console, { error: saved.error, warn: saved.warn, log: saved.log });
      process.stderr.write = saved.err;
    },
  };
}

describe('webtoolErrorHandler (routing-controllers)', () => {
  const cache = new InMemoryCache();
  const jwtService = new JWTService(cache, { secretKey: makeEdKey() });
  const registered: Function[] = [];
  let app: express.Express;
  let user: string;
  let logged: string[];

  before(async () => {
    const handler = webtoolErrorHandler({ logger: { error: (line) => logged.push(line) } });
    registered.push(handler);
    app = express();
    app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwtService) }));
    useExpressServer(app, {
      controllers: [ErrorsController],
      middlewares: [handler],
      defaultErrorHandler: false,
      authorizationChecker,
      currentUserChecker,
    });
    [user] = await jwtService.createToken({ sub: 'u1' });
  });
  beforeEach(() => (logged = []));
  after(async () => {
    // routing-controllers applies every registered middleware to apps that list none: unregister ours.
    const storage = getMetadataArgsStorage();
    storage.middlewares = storage.middlewares.filter((m) => !registered.includes(m.target));
    await jwtService.close();
    await cache.close();
  });

  it('ten refused requests (401 and 403) print nothing at all', async () => {
    const out = capture();
    try {
      for (let i = 0; i < 4; i++) await request(app).get('/eh/me').expect(401);
      for (let i = 0; i < 3; i++) await request(app).get('/eh/me').set('Authorization', 'Bearer not-a-token').expect(401);
      for (let i = 0; i < 3; i++) await request(app).get('/eh/admin').set('Authorization', `Bearer ${user}`).expect(403);
    } finally {
      out.restore();
    }
    expect(out.lines).to.deep.equal([]);
    expect(logged).to.deep.equal([]);
  });

  it('answers 401 as application/problem+json with the Bearer challenge', async () => {
    const res = await request(app).get('/eh/me').expect(401);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).to.equal('Bearer');
    expect(JSON.parse(res.text)).to.deep.equal({
      type: 'about:blank', title: 'Unauthorized', status: 401, code: 'ERR_WT_UNAUTHORIZED', detail: 'Authentication required',
    });
  });

  it('answers 403 as application/problem+json naming the missing scope', async () => {
    const res = await request(app).get('/eh/admin').set('Authorization', `Bearer ${user}`).expect(403);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).to.include({ status: 403, code: 'ERR_WT_FORBIDDEN', detail: 'Missing scope: admin' });
  });

  it('answers routing-controllers HttpErrors as problems with their message, unlogged', async () => {
    const res = await request(app).get('/eh/missing').expect(404);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).to.deep.equal({ type: 'about:blank', title: 'Not Found', status: 404, code: 'ERR_WT_HTTP', detail: 'no such report' });
    expect(logged).to.deep.equal([]);
  });

  it('keeps validation failures to property and constraints: the rejected value never echoes back', async () => {
    const res = await request(app).get('/eh/invalid').expect(400);
    expect(res.text).to.not.contain('hunter2');
    expect(JSON.parse(res.text).errors).to.deep.equal([{ property: 'password', constraints: { minLength: 'too short' } }]);
  });

  it('answers an unexpected error with a bare 500 and logs it once, credentials redacted', async () => {
    const res = await request(app).get('/eh/crash').expect(500);
    expect(JSON.parse(res.text)).to.deep.equal({ type: 'about:blank', title: 'Internal Server Error', status: 500, code: 'ERR_WT_INTERNAL' });
    expect(res.text).to.not.match(/redis|s3cr3t|at |\.ts/);
    expect(logged).to.have.length(1);
    expect(logged[0]).to.contain('GET /eh/crash').and.contain('connect failed to redis://***@db.internal:6379');
    expect(logged[0]).to.not.contain('s3cr3t-pw');
    expect(logged[0]).to.not.contain('eyJhbGciOi');
    for (const secret of ['YWxpY2U6aHVudGVyMg', 'hunter2', 'k3y-9f']) expect(logged[0]).to.not.contain(secret);
  });

  it('answers a webtool 503 with its own problem and logs it once', async () => {
    const res = await request(app).get('/eh/down').expect(503);
    expect(JSON.parse(res.text)).to.deep.equal({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'ERR_WT_CACHE_UNAVAILABLE' });
    expect(logged).to.have.length(1);
  });
});

describe('401 and 403 under routing-controllers\' default error handler', () => {
  it('are application/problem+json like 429 and 503', async () => {
    const cache = new InMemoryCache();
    const jwtService = new JWTService(cache, { secretKey: makeEdKey() });
    try {
      const app = express();
      app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwtService) }));
      useExpressServer(app, { controllers: [ErrorsController], middlewares: [], authorizationChecker, currentUserChecker });
      app.use(errorHandler({ logger: { error: () => expect.fail('a 4xx was logged') } }));
      const [user] = await jwtService.createToken({ sub: 'u1' });
      const unauthorized = await request(app).get('/eh/me').expect(401);
      expect(unauthorized.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(JSON.parse(unauthorized.text)).to.include({ status: 401, code: 'ERR_WT_UNAUTHORIZED' });
      const forbidden = await request(app).get('/eh/admin').set('Authorization', `Bearer ${user}`).expect(403);
      expect(forbidden.headers['content-type']).to.match(/^application\/problem\+json/);
    } finally {
      await jwtService.close();
      await cache.close();
    }
  });
});

describe('errorHandler (plain Express)', () => {
  function appThrowing(err: unknown, logged: string[]) {
    const app = express();
    app.post('/json', express.json(), (req, res) => void res.json(req.body));
    app.get('/throw', () => {
      throw err;
    });
    app.use(errorHandler({ logger: { error: (line) => logged.push(line) } }));
    return app;
  }

  it('answers malformed JSON bodies 400 as a problem, unlogged', async () => {
    const logged: string[] = [];
    const res = await request(appThrowing(null, logged)).post('/json').set('Content-Type', 'application/json').send('{"a":').expect(400);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).to.include({ status: 400, title: 'Bad Request' });
    expect(logged).to.deep.equal([]);
  });

  it('answers a thrown non-error value 500 and logs it once', async () => {
    const logged: string[] = [];
    const res = await request(appThrowing('a string', logged)).get('/throw').expect(500);
    expect(JSON.parse(res.text)).to.include({ status: 500, code: 'ERR_WT_INTERNAL' });
    expect(logged).to.have.length(1);
  });

  it('rejects an unknown option naming the one meant', () => {
    expect(() => errorHandler({ loger: console } as never))
      .to.throw(InvalidOptionError, 'did you mean `logger`?')
      .with.property('code', 'ERR_WT_INVALID_OPTION');
  });
});
