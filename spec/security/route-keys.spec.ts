/**
 * @module Route keys: a budget belongs to the route pattern as Express matches it, so letter case,
 * trailing slashes, parameter values, mounts, nested routers and HEAD cannot buy a fresh budget
 * (issue 8 items 1 and 4). Every attack runs on Express 4 and Express 5, with the defaults.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { expect } from 'chai';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { EXPRESS_MAJORS } from '../support/app-factory';

const ok = (req: Request, res: Response) => res.json({ ok: true });

/** The statuses of `paths` requested in order (one client, one IP). */
async function statuses(app: Express, paths: string[], method: 'get' | 'head' | 'post' = 'get'): Promise<number[]> {
  const out: number[] = [];
  for (const path of paths) out.push((await request(app)[method](path)).status);
  return out;
}

/** Every upper/lower-case spelling of `word` (2^length of them). */
function caseVariants(word: string): string[] {
  let variants = [''];
  for (const ch of word) variants = variants.flatMap((v) => [v + ch.toLowerCase(), v + ch.toUpperCase()]);
  return variants;
}

/** Statuses of raw requests whose request targets are sent as given (e.g. absolute-form). */
async function rawStatuses(app: Express, targets: string[]): Promise<number[]> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const out: number[] = [];
  try {
    for (const path of targets) {
      out.push(
        await new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject).end();
        }),
      );
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return out;
}

const admitted = (codes: number[]) => codes.filter((c) => c === 200).length;

for (const major of EXPRESS_MAJORS) {
  describe(`limiter() route keys on ${major.name}`, () => {
    let app: Express;

    beforeEach(() => {
      app = major.load()();
      app.use(limitMiddleware({ cache: new InMemoryCache(), backends: [new IPBackend()] }));
    });

    it('keys a mount by its pattern: 16 letter-case spellings of /auth share one budget of 3', async () => {
      app.use('/auth', limiter(3, 60));
      app.post('/auth/login', ok);
      const codes = await statuses(app, caseVariants('auth').map((a) => `/${a}/login`), 'post');
      expect(codes).to.have.length(16);
      expect(admitted(codes)).to.equal(3);
      expect(codes.slice(3).every((c) => c === 429)).to.equal(true);
    });

    it('keys a route inside a mounted router by the mount pattern: /API/x shares /api/x budget', async () => {
      const router = major.load().Router();
      router.get('/x', limiter(2, 60), ok);
      app.use('/api', router);
      expect(await statuses(app, ['/api/x', '/API/x', '/Api/x', '/api/X', '/api/x/'])).to.deep.equal([200, 200, 429, 429, 429]);
    });

    it('keys a mount with a parameter once: /users/1, /users/2 … share one budget', async () => {
      app.use('/users/:id', limiter(2, 60));
      app.get('/users/:id', (req: Request, res: Response) => res.json({ id: req.params.id }));
      // The walk leaves Express's own match state alone: the handler still sees its parameter.
      expect((await request(app).get('/users/7')).body).to.deep.equal({ id: '7' });
      expect(await statuses(app, ['/users/2', '/users/3', '/USERS/4', '/users/users'])).to.deep.equal([200, 429, 429, 429]);
    });

    it('keys nested routers by their patterns, parameters included', async () => {
      const inner = major.load().Router();
      inner.use(limiter(2, 60));
      inner.get('/items', ok);
      const outer = major.load().Router();
      outer.use('/orgs/:org', inner);
      app.use('/v1', outer);
      expect(await statuses(app, ['/v1/orgs/a/items', '/V1/orgs/b/items', '/v1/ORGS/c/items/', '/v1/orgs/d/items'])).to.deep.equal([200, 200, 429, 429]);
    });

    it('counts a trailing slash as the same route unless strict routing', async () => {
      app.use('/auth', limiter(2, 60));
      app.get(['/auth', '/auth/login'], ok);
      expect(await statuses(app, ['/auth', '/auth/', '/auth/login/', '/auth'])).to.deep.equal([200, 200, 429, 429]);
    });

    it('keeps budgets apart where Express routes apart: case-sensitive routing, two mounts of one router', async () => {
      app = major.load()();
      app.set('case sensitive routing', true); // before the first app.use: Express reads it when it creates the router
      app.use(limitMiddleware({ cache: new InMemoryCache(), backends: [new IPBackend()] }));
      app.use('/a', limiter(1, 60));
      app.use('/A', limiter(1, 60));
      app.get(['/a', '/A'], ok);
      expect(await statuses(app, ['/a', '/A', '/a', '/A'])).to.deep.equal([200, 200, 429, 429]);
      const router = major.load().Router();
      router.get('/x', limiter(1, 60), ok);
      app.use('/one', router);
      app.use('/two', router);
      expect(await statuses(app, ['/one/x', '/two/x', '/one/x'])).to.deep.equal([200, 200, 429]);
    });

    it('gives a router mounted a second time after requests were served its own budget once the app is read again (within a second)', async () => {
      const router = major.load().Router();
      router.get('/x', limiter(1, 60), ok);
      app.use('/one', router);
      // One way to the limiter: its key is remembered, and re-checked at most once a second.
      expect(await statuses(app, ['/one/x', '/one/x', '/ONE/x'])).to.deep.equal([200, 429, 429]);
      app.use('/two', router);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await statuses(app, ['/two/x', '/two/x', '/one/x', '/TWO/x'])).to.deep.equal([200, 429, 429, 429]);
    });

    it('keeps /x and /x/ apart under strict routing, where Express routes them apart', async () => {
      app = major.load()();
      app.set('strict routing', true); // before the first app.use, as for case sensitivity
      app.use(limitMiddleware({ cache: new InMemoryCache(), backends: [new IPBackend()] }));
      app.get('/x', limiter(1, 60), ok);
      app.get('/x/', limiter(1, 60), ok);
      expect(await statuses(app, ['/x', '/x/', '/X', '/X/'])).to.deep.equal([200, 200, 429, 429]);
    });

    it('keys a route parameter by the pattern and an app-wide limiter once for every path', async () => {
      app.use(limiter(3, 60));
      app.get('/p/:id', ok);
      app.use((req, res) => res.status(404).json({}));
      expect(await statuses(app, ['/p/1', '/P/2', '/nothing', '/p/3', '/other'])).to.deep.equal([200, 200, 404, 429, 429]);
    });

    it('never admits an encoded or doubled-slash spelling through a fresh budget', async () => {
      app.use('/auth', limiter(1, 60));
      app.get('/auth/login', ok);
      app.use((req: Request, res: Response) => res.status(404).json({}));
      const codes = await statuses(app, ['/auth/login', '/%61uth/login', '//auth/login', '/auth//login', '/auth/%6cogin', '/auth/login']);
      expect(codes[0]).to.equal(200);
      expect(admitted(codes.slice(1))).to.equal(0);
    });

    it('keys a sub-application by its mount pattern, behind a decoy mounted at the same pattern', async () => {
      const decoy = major.load()();
      decoy.use((req: Request, res: Response, next: NextFunction) => next());
      const sub = major.load()();
      sub.get('/items', limiter(2, 60), ok);
      app.use('/tenant/:t', decoy);
      app.use('/tenant/:t', sub);
      expect(await statuses(app, ['/tenant/a/items', '/TENANT/b/items', '/tenant/c/ITEMS/', '/tenant/d/items'])).to.deep.equal([200, 200, 429, 429]);
    });

    it('keys an absolute-form request target by its path, not a fresh budget', async () => {
      app.use('/auth/:tenant', limiter(2, 60));
      app.get('/auth/:tenant/login', ok);
      const codes = await rawStatuses(app, ['/auth/a/login', 'http://example.com/auth/b/login', 'HTTP://EXAMPLE.COM/AUTH/c/login', 'http://x.test/auth/d/login?q=1']);
      expect(codes).to.deep.equal([200, 200, 429, 429]);
    });

    it('keys a request whose req.url an earlier middleware rewrote by the route it reached', async () => {
      const router = major.load().Router();
      router.get('/x/:id', limiter(2, 60), ok);
      app.use('/t/:tenant', (req: Request, res: Response, next: NextFunction) => {
        req.url = `/x${req.url}`; // /t/a/1 → routed on as /x/1 inside the mount
        next();
      });
      app.use('/t/:tenant', router);
      expect(await statuses(app, ['/t/a/1', '/t/b/2', '/t/c/3', '/T/d/4'])).to.deep.equal([200, 200, 429, 429]);
    });

    it('counts HEAD under a GET rule, and the GET handler runs only for admitted requests', async () => {
      let ran = 0;
      app.get('/g', limiter(3, 60, [], { method: 'GET' }), (req: Request, res: Response) => {
        ran++;
        res.json({ ok: true });
      });
      const codes = [...(await statuses(app, ['/g', '/g'])), ...(await statuses(app, ['/g', '/g', '/g', '/g'], 'head'))];
      expect(codes).to.deep.equal([200, 200, 200, 429, 429, 429]);
      expect(ran).to.equal(3);
    });

    it('still separates methods on one path: a POST route has its own budget', async () => {
      app.get('/m', limiter(1, 60), ok);
      app.post('/m', limiter(1, 60), ok);
      expect(await statuses(app, ['/m', '/m'])).to.deep.equal([200, 429]);
      expect(await statuses(app, ['/m', '/m'], 'post')).to.deep.equal([200, 429]);
    });

    it('keeps the key stable when earlier middleware passes through (next) and for limiter.all', async () => {
      app.use((req: Request, res: Response, next: NextFunction) => next());
      app.get('/s/:q', limiter.all(limiter(2, 60), limiter(100, 3600)), ok);
      expect(await statuses(app, ['/s/a', '/S/b', '/s/c'])).to.deep.equal([200, 200, 429]);
    });
  });
}
