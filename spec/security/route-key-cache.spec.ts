/**
 * @module Attacks on the remembered route key (rounds 5 and 6): one chain → key reused; collected
 * again when a router on the way changes length, a chain layer is replaced in place, or after 1 s.
 * The route's methods are part of its key by design: methods added at run time re-key the route (README).
 */
import { expect } from 'chai';
import type { Express, NextFunction, Request, Response } from 'express';
import net from 'node:net';
import request from 'supertest';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { EXPRESS_MAJORS, quietLogger } from '../support/app-factory';

const ok = (req: Request, res: Response) => res.json({ ok: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function codes(app: any, paths: string[], method: 'get' | 'head' | 'post' | 'put' = 'get'): Promise<number[]> {
  const out: number[] = [];
  for (const p of paths) out.push((await request(app)[method](p)).status);
  return out;
}

/** The Express router of an app (Express 4: app._router, Express 5: app.router). */
const routerOf = (a: any) => a._router ?? a.router;

/** Raw request with an exact request-target (absolute-form etc.). */
function rawStatus(port: number, target: string, method = 'GET'): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let buf = '';
    s.on('data', (d) => (buf += d));
    s.on('end', () => resolve(Number(buf.split(' ')[1])));
    s.on('error', () => resolve(-1));
  });
}

for (const major of EXPRESS_MAJORS) {
  describe(`attack: route-key cache on ${major.name}`, () => {
    let cache: InMemoryCache;
    beforeEach(() => (cache = new InMemoryCache()));
    afterEach(() => cache.close());
    const mk = () => {
      const a = major.load()() as unknown as Express;
      a.use(limitMiddleware({ cache, backends: [new IPBackend()], logger: quietLogger }));
      return a;
    };

    it('a limiter reused on a route added after the first request gives that route its own budget', async () => {
      const a = mk();
      const l = limiter(2, 60);
      a.get('/a', l, ok);
      expect(await codes(a, ['/a', '/a', '/a'])).to.deep.equal([200, 200, 429]);
      a.get('/b', l, ok);
      expect(await codes(a, ['/b', '/b', '/b'])).to.deep.equal([200, 200, 429]);
    });

    it('a router mounted at a second path after the first request: a budget per mount', async () => {
      const a = mk();
      const r = major.load().Router();
      r.get('/x', limiter(2, 60), ok);
      a.use('/one', r);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      a.use('/two', r);
      expect(await codes(a, ['/two/x', '/two/x', '/two/x'])).to.deep.equal([200, 200, 429]);
    });

    it('a sub-app mounted at two paths: a budget per mount', async () => {
      const a = mk();
      const sub = major.load()() as unknown as Express;
      sub.get('/x', limiter(2, 60), ok);
      a.use('/one', sub);
      a.use('/two', sub);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      expect(await codes(a, ['/two/x', '/two/x', '/two/x'])).to.deep.equal([200, 200, 429]);
    });

    it('a sub-app mounted in two apps: a budget per app/mount, and never shared wrongly', async () => {
      const a = mk();
      const b = mk();
      const sub = major.load()() as unknown as Express;
      sub.get('/x', limiter(2, 60), ok);
      a.use('/one', sub);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      b.use('/two', sub);
      expect(await codes(b, ['/two/x', '/two/x', '/two/x'])).to.deep.equal([200, 200, 429]);
    });

    it('a router mounted at two paths from the start: a budget per mount', async () => {
      const a = mk();
      const r = major.load().Router();
      r.get('/x', limiter(2, 60), ok);
      a.use('/one', r);
      a.use('/two', r);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      expect(await codes(a, ['/two/x', '/two/x', '/two/x'])).to.deep.equal([200, 200, 429]);
    });

    it('a sub-app mounted at two paths: still one budget per mount after the 1 s re-check', async () => {
      const a = mk();
      const sub = major.load()() as unknown as Express;
      sub.get('/x', limiter(2, 60), ok);
      a.use('/one', sub);
      a.use('/two', sub);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      await sleep(1100);
      expect(await codes(a, ['/two/x', '/two/x', '/two/x'])).to.deep.equal([200, 200, 429]);
      await sleep(1100);
      expect(await codes(a, ['/one/x', '/two/x'])).to.deep.equal([429, 429]);
    });

    it('adding a route later never resets an exhausted budget (cached key == replayed key)', async () => {
      const a = mk();
      const l = limiter(2, 60);
      a.get('/a', l, ok);
      expect(await codes(a, ['/a', '/a', '/a'])).to.deep.equal([200, 200, 429]);
      a.get('/b', l, ok);
      await sleep(1100);
      expect(await codes(a, ['/a', '/a'])).to.deep.equal([429, 429]);
      expect(await codes(a, ['/b', '/b', '/b'])).to.deep.equal([200, 200, 429]);
    });

    it('a route added after warm-up that shadows nothing: the budget of the first route holds', async () => {
      const a = mk();
      const l = limiter(2, 60);
      const r = major.load().Router();
      r.get('/x', l, ok);
      a.use('/one', r);
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      a.use('/two', r);
      await sleep(1100);
      expect(await codes(a, ['/one/x'])).to.deep.equal([429]);
    });

    it('a sub-app mounted once under a param mount: one budget whatever the param, case or slash', async () => {
      const a = mk();
      const sub = major.load()() as unknown as Express;
      sub.get('/x', limiter(3, 60), ok);
      a.use('/t/:tenant', sub);
      const got = await codes(a, ['/t/a/x', '/T/b/X', '/t/c/x/', '/t/%64/x', '/t/e/x', '/t/f/x']);
      expect(got.filter((c) => c === 200).length).to.equal(3);
      await sleep(1100);
      expect(await codes(a, ['/t/zz/x'])).to.deep.equal([429]);
    });

    it('one limiter on two routes of two apps sharing a cache: a budget per route', async () => {
      const l = limiter(2, 60);
      const a = mk();
      a.get('/a', l, ok);
      const b = mk();
      b.get('/b', l, ok);
      expect(await codes(a, ['/a', '/a', '/a'])).to.deep.equal([200, 200, 429]);
      expect(await codes(b, ['/b', '/b', '/b'])).to.deep.equal([200, 200, 429]);
    });

    it('the cache never splits a budget: case, slash, encoding, params, HEAD, query, after warm-up', async () => {
      const a = mk();
      a.get('/users/:id/edit', limiter(3, 60), ok);
      const paths = ['/users/1/edit', '/USERS/2/edit', '/users/3/edit/', '/users/%34/edit', '/users/5/edit?x=1', '/users/6/Edit', '/users/7/%65dit'];
      const got = await codes(a, paths);
      expect(got.filter((c) => c === 200).length).to.equal(3);
      await sleep(1100);
      expect(await codes(a, ['/users/9/edit'])).to.deep.equal([429]);
      expect(await codes(a, ['/users/9/edit'], 'head')).to.deep.equal([429]);
    });

    it('req.url rewritten by a middleware before the limiter does not buy a fresh budget', async () => {
      const a = mk();
      const l = limiter(2, 60);
      a.use((req: Request, res: Response, next: NextFunction) => {
        if (typeof req.query.v === 'string') req.url = `/v${req.query.v}${req.url}`;
        next();
      });
      a.use('/api', l, ok);
      const seq: number[] = [];
      for (let i = 0; i < 6; i++) seq.push((await request(a).get(`/api/thing`)).status);
      expect(seq.filter((c) => c === 200).length).to.equal(2);
    });

    it('a middleware changing req.baseUrl / req.url after mount does not split the budget', async () => {
      const a = mk();
      const r = major.load().Router();
      r.use((req: Request, res: Response, next: NextFunction) => {
        req.baseUrl = `/rand${Math.random()}`;
        req.url = `/x${Math.random()}`;
        next();
      });
      r.use(limiter(2, 60), ok);
      a.use('/m', r);
      const got = await codes(a, ['/m/a', '/m/b', '/m/c', '/m/d', '/m/e']);
      expect(got.filter((c) => c === 200).length).to.equal(2);
    });

    it('a route with two methods sharing one limiter: GET and POST one budget (route methods)', async () => {
      const a = mk();
      const l = limiter(2, 60);
      a.route('/r').get(l, ok).post(l, ok);
      const got = [...(await codes(a, ['/r'])), ...(await codes(a, ['/r'], 'post')), ...(await codes(a, ['/r'])), ...(await codes(a, ['/r'], 'post'))];
      expect(got.filter((c) => c === 200).length).to.equal(2);
    });

    it('limiter behind app.use with params in mount, one budget for all ids after cache warm', async () => {
      const a = mk();
      a.use('/t/:tenant', limiter(2, 60));
      a.get('/t/:tenant/x', ok);
      const got = await codes(a, ['/t/a/x', '/t/b/x', '/t/c/x', '/t/d/x']);
      expect(got).to.deep.equal([200, 200, 429, 429]);
    });

    it('a mount layer replaced in place (stack length unchanged): an exhausted route never gets budget back', async () => {
      const a = mk();
      const R = major.load().Router;
      const r = R();
      r.get('/x', limiter(2, 60), ok);
      a.use('/one', r);
      const stack = routerOf(a).stack as any[];
      const idxOne = stack.length - 1;
      const layerOne = stack[idxOne];
      expect(await codes(a, ['/one/x', '/one/x', '/one/x'])).to.deep.equal([200, 200, 429]);
      // move the router to /two, replacing the layer (same length)
      a.use('/two', r);
      const layerTwo = stack.pop();
      stack[idxOne] = layerTwo;
      await sleep(1100);
      expect(await codes(a, ['/two/x'])).to.deep.equal([200]); // /two has its own budget: 1 of 2 spent
      // move back to /one, replacing in place again, and ask at once (within the 1 s window)
      stack[idxOne] = layerOne;
      expect(await codes(a, ['/one/x', '/one/x'])).to.deep.equal([429, 429]);
    });

    it('a route layer replaced in place by another path: each path keeps its own budget', async () => {
      const a = mk();
      const l = limiter(2, 60);
      a.get('/a', l, ok);
      const stack = routerOf(a).stack as any[];
      const i = stack.length - 1;
      const layerA = stack[i];
      expect(await codes(a, ['/a', '/a', '/a'])).to.deep.equal([200, 200, 429]);
      a.get('/b', l, ok);
      const layerB = stack.pop();
      stack[i] = layerB;
      await sleep(1100);
      expect(await codes(a, ['/b'])).to.deep.equal([200]);
      stack[i] = layerA;
      expect(await codes(a, ['/a', '/a'])).to.deep.equal([429, 429]);
      await sleep(1100);
      expect(await codes(a, ['/a'])).to.deep.equal([429]);
    });

    it('absolute-form, double-slash-free and encoded targets share the route budget after warm-up', async () => {
      const a = mk();
      a.get('/api/items/:id', limiter(3, 60), ok);
      const server = a.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const port = (server.address() as net.AddressInfo).port;
        const targets = ['/api/items/1', `http://127.0.0.1:${port}/api/items/2`, 'http://evil.example/api/items/3', '/api/items/4?q', '/API/items/5', '/api/items/6/', '/api/%69tems/7', `http://127.0.0.1:${port}/API/items/8/`, '/api/items/9;x', '/api/items/%2F'];
        const got: number[] = [];
        for (const t of targets) got.push(await rawStatus(port, t));
        expect(got.filter((c) => c === 200).length, JSON.stringify(got)).to.equal(3);
        await sleep(1100);
        const again: number[] = [];
        for (const t of targets) again.push(await rawStatus(port, t));
        expect(again.filter((c) => c === 200).length, JSON.stringify(again)).to.equal(0);
      } finally {
        server.close();
      }
    });

    it('a route inserted before the limited one in place (same stack length): its own budget after the re-check', async () => {
      const a = mk();
      const l = limiter(2, 60);
      const r = major.load().Router();
      r.get('/x', l, ok);
      r.get('/filler', ok);
      a.use('/m', r);
      expect(await codes(a, ['/m/x', '/m/x', '/m/x'])).to.deep.equal([200, 200, 429]);
      // a middleware inserted in front of the limited route, the filler removed: same length
      r.get('/:anything', l, ok); // a second chain to l: /m/:anything
      const st = (r as any).stack as any[];
      const added = st.pop();
      st.splice(st.length - 1, 1); // drop filler
      st.unshift(added); // /m/:anything now matches /m/x first
      expect(st.length).to.equal(2);
      // Express now routes /m/x through /:anything: a different route pattern → its own budget
      // (within the first second the old key may still be used: fail-closed, accepted); after the re-check:
      await sleep(1100);
      expect(await codes(a, ['/m/x', '/m/x', '/m/x'])).to.deep.equal([200, 200, 429]);
    });

    it('HEAD and GET on one route, after warm-up: one budget; OPTIONS not counted', async () => {
      const a = mk();
      a.get('/h', limiter(3, 60), ok);
      const got = [...(await codes(a, ['/h'])), ...(await codes(a, ['/h'], 'head')), ...(await codes(a, ['/h'])), ...(await codes(a, ['/h', '/h'], 'head'))];
      expect(got).to.deep.equal([200, 200, 200, 429, 429]);
    });

    it('one limiter on the same path in two apps, the second app built after the first warmed: a budget per app route, neither resets', async () => {
      const l = limiter(2, 60);
      const a = mk();
      a.get('/p', l, ok);
      expect(await codes(a, ['/p', '/p', '/p'])).to.deep.equal([200, 200, 429]);
      const b = mk();
      b.get('/p', l, ok);
      // same pattern chain in another app: README says budgets are per route; the route patterns are equal,
      // so one budget across both apps is acceptable; what must not happen is a reset of a's budget.
      await codes(b, ['/p', '/p', '/p']);
      expect(await codes(a, ['/p'])).to.deep.equal([429]);
      await sleep(1100);
      expect(await codes(a, ['/p'])).to.deep.equal([429]);
    });
  });
}
