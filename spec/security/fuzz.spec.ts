/**
 * @module Hostile input: fast-check throws ≥ 10,000 generated requests at a limited, authenticated
 * route over a real listening server — adversarial Authorization, Cookie and X-Forwarded-For headers,
 * odd methods and paths. Every answer is 200/401/403/429 (404 for paths the app does not route, by the
 * app's own JSON 404), with a JSON body; never 500; the process never crashes; nothing authenticates
 * without a validly signed access token.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import { expect } from 'chai';
import { RedisCache } from '../../src/cache/redis-cache';
import { JWTService } from '../../src/auth/jwt-service';
import { JWTBackend } from '../../src/auth/backends/jwt-backend';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { makeEdKey } from '../../src/utils/make-key';
import { quietLogger } from '../support/app-factory';
import { keepAliveAgent, send } from '../support/http-load';
import { deletePrefix, redisUrl, uniquePrefix } from '../support/redis';

const NUM_RUNS = 10_000;
const ALLOWED = [200, 401, 403, 404, 429];
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/**
 * Header values travel as bytes: send UTF-8 as latin1 characters (Node refuses code points > 0xff).
 * Control characters cannot be sent at all (HTTP forbids them; Node's client throws), so they become '?'.
 */
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
/** A header value as the server sees it: HTTP drops leading and trailing spaces and tabs (RFC 9110 §5.5). */
const ows = (s: string | undefined) => (s ?? '').replace(/^[ \t]+|[ \t]+$/g, '');
/**
 * The token's bytes, re-encoded canonically. Base64url is malleable (padding, the unused low bits of
 * the last character), so several strings carry the same signed bytes; they are the same token.
 */
const canonical = (t: string) => t.split('.').map((part) => Buffer.from(part, 'base64url').toString('base64url')).join('.');

describe('Hostile requests never 500 and never authenticate without a valid signature', function () {
  this.timeout(120_000);
  const prefix = uniquePrefix('fuzz');
  let cache: RedisCache;
  let jwt: JWTService;
  let server: Server;
  let port: number;
  const agent = keepAliveAgent(8);
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  /** Valid access tokens and who they are; anything else must stay anonymous. */
  const valid = new Map<string, { sub: string; scoped: boolean }>();
  let readerToken: string;
  let plainToken: string;
  let refreshToken: string;
  let sessionCookie: string;

  before(async () => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    cache = new RedisCache(await redisUrl(), { keyPrefix: prefix, logger: quietLogger });
    jwt = new JWTService(cache, { secretKey: makeEdKey() });
    [readerToken, refreshToken] = await jwt.createToken({ sub: 'reader', scope: 'read' });
    [plainToken] = await jwt.createToken({ sub: 'plain' });
    valid.set(canonical(readerToken), { sub: 'reader', scoped: true });
    valid.set(canonical(plainToken), { sub: 'plain', scoped: false });

    const app = express();
    // Trust X-Forwarded-For so the fuzzed chains reach ipKey (the riskiest setting for this input).
    app.set('trust proxy', true);
    app.use(limitMiddleware({ cache, authBackend: new JWTBackend(jwt), annoBackend: new AnnoSessionBackend({ secure: false, secret: 'f'.repeat(32) }), logger: quietLogger }));
    app.all('/api/private', limiter(100, 1), (req, res) => {
      if (!req.auth) return void res.status(401).json({ error: 'unauthorized' });
      if (!req.auth.scope?.includes('read')) return void res.status(403).json({ error: 'forbidden', user: req.auth.identifier });
      res.json({ user: req.auth.identifier });
    });
    // Sessions are minted only where a limit admitted the request (and the answer succeeded).
    app.get('/session', limiter(1000, 60), (req, res) => res.json({ ok: true }));
    // The app's choice: unrouted paths and methods answer a JSON 404.
    app.use((req, res) => res.status(404).json({ error: 'not found' }));
    app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ error: err.name }));
    // Headers up to 64 KB reach the app; Node's own 16 KB parser limit is not what is under test.
    server = http.createServer({ maxHeaderSize: 64 * 1024 }, app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const first = await send({ port, path: '/session', agent });
    sessionCookie = String(first.headers['set-cookie']?.[0] ?? '').split(';')[0];
    expect(sessionCookie).to.match(/^th-session=/);
  });

  after(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    agent.destroy();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await jwt?.close();
    if (cache) {
      await deletePrefix(cache.client as never, prefix);
      await cache.close();
    }
  });

  const text = fc.oneof(fc.string({ maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 64 }), fc.constantFrom('', ' ', '\t', '.', '=', ';', ',', '%', '"', '\\'));

  function authorization(): fc.Arbitrary<string | undefined> {
    const token = () => fc.constantFrom(readerToken, plainToken);
    const mutate = fc.tuple(token(), fc.nat(), fc.constantFrom('flip', 'truncate', 'append', 'swap-payload', 'drop-signature')).map(([t, n, how]) => {
      const [h, p, s] = t.split('.');
      const i = n % t.length;
      if (how === 'flip') return t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
      if (how === 'truncate') return t.slice(0, i);
      if (how === 'append') return `${t}A`;
      if (how === 'swap-payload') return `${h}.${b64({ sub: 'admin', scope: 'read admin', token_type: 'access', exp: 4e9 })}.${s}`;
      return `${h}.${p}.`;
    });
    const algNone = fc.record({ sub: fc.constantFrom('admin', 'reader', 'root'), typ: fc.constantFrom('JWT', 'at+jwt', 'access', undefined), alg: fc.constantFrom('none', 'None', 'NONE', 'nOnE') }).map(
      ({ sub, typ, alg }) => `${b64({ alg, typ })}.${b64({ sub, scope: 'read', token_type: 'access', jti: 'x', fid: 'y', iat: 1, exp: 4e9 })}.`,
    );
    const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Bearer', 'Basic ', 'Token ', ' Bearer ', 'Bearer:', '');
    return fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      { arbitrary: text.map(bytes), weight: 2 },
      { arbitrary: fc.tuple(scheme, text).map(([s, t]) => bytes(s + t)), weight: 2 },
      { arbitrary: fc.tuple(scheme, fc.oneof(mutate, algNone, fc.constant(refreshToken))).map(([s, t]) => s + t), weight: 4 },
      { arbitrary: fc.tuple(scheme, token()).map(([s, t]) => s + t), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 200 }).map((n) => `Bearer ${'.'.repeat(n)}`), weight: 1 },
      { arbitrary: fc.tuple(fc.integer({ min: 4, max: 50 }), text).map(([n, t]) => `Bearer ${Array(n).fill(b64(t) || 'a').join('.')}`), weight: 1 },
      { arbitrary: fc.integer({ min: 4096, max: 20_000 }).map((n) => `Bearer ${'A'.repeat(n)}`), weight: 1 },
      { arbitrary: fc.tuple(token(), fc.constantFrom(', Bearer x', ' junk', '\u00e9', '==', ' ')).map(([t, tail]) => bytes(`Bearer ${t}${tail}`)), weight: 1 },
    );
  }

  function cookie(): fc.Arbitrary<string | undefined> {
    const forged = fc.oneof(
      fc.constant('th-session=abc'),
      fc.constant(`th-session=${'a'.repeat(22)}.${'b'.repeat(43)}`),
      fc.string({ maxLength: 40 }).map((s) => `th-session=${encodeURIComponent(s)}.${'A'.repeat(43)}`),
    );
    return fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      { arbitrary: fc.constant(sessionCookie), weight: 1 },
      { arbitrary: forged, weight: 2 },
      { arbitrary: fc.tuple(forged, fc.constant(sessionCookie)).map(([a, b]) => `${a}; ${b}; ${a}`), weight: 1 }, // duplicate names
      { arbitrary: text.map((t) => bytes(`th-session${t}`)), weight: 1 }, // no '='
      { arbitrary: fc.constantFrom('th-session=%', 'th-session=%zz', 'th-session=%E0%A4%A', 'a=%ff%fe; th-session=%00'), weight: 1 }, // bad escapes
      { arbitrary: fc.integer({ min: 1024, max: 8192 }).map((n) => `th-session=${'x'.repeat(n)}`), weight: 1 },
      { arbitrary: fc.array(fc.tuple(text, text), { maxLength: 20 }).map((pairs) => bytes(pairs.map(([k, v]) => `${k}=${v}`).join('; '))), weight: 2 },
    );
  }

  function forwardedFor(): fc.Arbitrary<string | undefined> {
    const hop = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), text.map(bytes), fc.constantFrom('unknown', '::ffff:127.0.0.1', 'fe80::1%eth0', '[::1]:80', '1.2.3.4:5678', '999.1.1.1', ''));
    return fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      { arbitrary: fc.array(hop, { minLength: 1, maxLength: 8 }).map((h) => h.join(', ')), weight: 3 },
      { arbitrary: fc.integer({ min: 100, max: 2000 }).map((n) => Array(n).fill('10.0.0.1').join(',')), weight: 1 },
    );
  }

  const method = fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'MKCOL', 'LOCK', 'SEARCH');
  const path = fc.oneof(
    { arbitrary: fc.constant('/api/private'), weight: 8 },
    { arbitrary: fc.constantFrom('/api/private/', '/API/Private', '/api//private', '/api/private?x=1&x=2', '/api/private/..', '/%2e%2e/api/private', '/api/private%00', '/api/%E0%A4%A', '/', '/api/private#frag', '/./api/private'), weight: 3 },
    { arbitrary: fc.string({ maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`), weight: 1 },
    { arbitrary: fc.integer({ min: 1000, max: 8000 }).map((n) => `/api/private?q=${'z'.repeat(n)}`), weight: 1 },
  );

  it(`answers ${NUM_RUNS} generated requests with 200/401/403/404/429 and JSON, never 500, never a forged identity`, async () => {
    const statuses: Record<number, number> = {};
    let authenticated = 0;
    await fc.assert(
      fc.asyncProperty(method, path, authorization(), cookie(), forwardedFor(), async (m, p, auth, ck, xff) => {
        const headers: http.OutgoingHttpHeaders = {};
        if (auth !== undefined) headers.authorization = auth = bytes(auth);
        if (ck !== undefined) headers.cookie = bytes(ck);
        if (xff !== undefined) headers['x-forwarded-for'] = bytes(xff);
        const reply = await send({ port, path: p, method: m, headers, agent, timeoutMs: 5000 });
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        expect(ALLOWED, `status of ${m} ${p}`).to.include(reply.status);
        const body = JSON.parse(reply.body) as { user?: string };
        if (reply.status === 200 || reply.status === 403) {
          authenticated++;
          // Only the exact form `<bearer scheme> <valid token>` may authenticate, and as that token's subject.
          const match = /^bearer +(\S+) *$/i.exec(ows(auth));
          const who = match ? valid.get(canonical(match[1])) : undefined;
          expect(who, `authenticated with Authorization ${JSON.stringify((auth ?? '').slice(0, 80))}`).to.not.equal(undefined);
          expect(body.user).to.equal(who!.sub);
          expect(reply.status).to.equal(who!.scoped ? 200 : 403);
        }
        const wellFormed = /^bearer +(\S+) *$/i.exec(ows(auth));
        if (reply.status === 401 && wellFormed) {
          // The converse, so the property can fail: a well-formed valid token is never refused.
          expect(valid.has(wellFormed[1]) || valid.has(wellFormed[1].replace(/=+$/, '')), 'a valid token was refused').to.equal(false);
        }
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
    );
    console.log(`      ${NUM_RUNS} requests: statuses ${JSON.stringify(statuses)}, ${authenticated} authenticated (all with a valid token)`);
    expect(crashes).to.deep.equal([]);
    expect(statuses[200], 'some requests reach the handler authenticated').to.be.greaterThan(0);
    expect(statuses[429], 'some requests are limited').to.be.greaterThan(0);
    expect(statuses[401], 'some requests stay anonymous').to.be.greaterThan(0);
    // Still alive and serving.
    expect((await send({ port, path: '/api/private', agent, headers: { authorization: `Bearer ${readerToken}`, 'x-forwarded-for': '203.0.113.9' } })).status).to.be.oneOf([200, 429]);
  });
});
