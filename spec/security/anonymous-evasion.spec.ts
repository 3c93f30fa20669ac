/**
 * @module Anonymous evasion: a client that drops its cookie, rotates random cookie values, forges
 * session ids (unsigned, signed by another key, a victim's id, oversized) or hops addresses inside
 * its IPv6 /56 is still limited — by IP while its session is new or unknown. Limit: 5 per minute for "anno".
 */
import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { expect } from 'chai';
import type { Cache } from '../../src/cache/cache';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { RedisCache } from '../../src/cache/redis-cache';
import { CACHES, cookieOf, quietLogger } from '../support/app-factory';
import { deletePrefix } from '../support/redis';

const LIMIT = 5;
const SECRET = 'e'.repeat(32);
const randomId = () => randomBytes(16).toString('base64url');

for (const cacheKind of CACHES) {
  describe(`Anonymous clients cannot evade the limit (${cacheKind.name})`, function () {
    this.timeout(30_000);
    let cache: Cache;
    let app: Express;
    let clientNo = 0;
    /** A fresh client address per test, so tests never share an IP budget. */
    let ip: string;

    before(async () => {
      cache = await cacheKind.make();
      app = express();
      app.set('trust proxy', true); // X-Forwarded-For stands in for distinct client addresses
      app.use(limitMiddleware({ cache, annoBackend: new AnnoSessionBackend({ secure: false, secret: SECRET }), logger: quietLogger }));
      app.get('/anno', limiter(LIMIT, 60, ['anno']), (req, res) => res.json({ ok: true }));
      app.get('/free', (req, res) => res.json({ ok: true }));
      // Sessions are minted only where a limit admitted the request: the tests take theirs here.
      app.get('/entry', limiter(1000, 60), (req, res) => res.json({ ok: true }));
    });

    beforeEach(() => {
      clientNo++;
      ip = `198.51.100.${clientNo}`;
    });

    after(async () => {
      if (cache instanceof RedisCache) await deletePrefix(cache.client as never, cache.keyPrefix);
      await cache.close();
    });

    /** Statuses of 7 requests, each with the cookie `cookieFor(i)` (or none). */
    async function seven(cookieFor: (i: number) => string | undefined, addressFor: (i: number) => string = () => ip): Promise<number[]> {
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 2; i++) {
        const req = request(app).get('/anno').set('X-Forwarded-For', addressFor(i));
        const cookie = cookieFor(i);
        if (cookie !== undefined) req.set('Cookie', cookie);
        statuses.push((await req).status);
      }
      return statuses;
    }
    const expected = [...Array(LIMIT).fill(200), 429, 429];

    it('limits a client that keeps its session cookie (baseline)', async () => {
      const cookie = cookieOf((await request(app).get('/entry').set('X-Forwarded-For', ip)).headers['set-cookie']);
      expect(cookie).to.match(/^th-session=/);
      expect(await seven(() => cookie)).to.deep.equal(expected);
    });

    it('limits a client that drops its cookie on every request (by IP)', async () => {
      expect(await seven(() => undefined)).to.deep.equal(expected);
    });

    it('limits a client that sends a random cookie value every time', async () => {
      expect(await seven(() => `th-session=${randomBytes(24).toString('base64url')}`)).to.deep.equal(expected);
    });

    it('limits a client that forges ids that look signed, or are oversized, or come with duplicates', async () => {
      const forged = [
        () => `th-session=${randomId()}.${randomBytes(32).toString('base64url')}`,
        () => `th-session=${'a'.repeat(4096)}`,
        () => `th-session=${randomId()}; th-session=${randomId()}`,
        () => `th-session=${randomId()}.`,
      ];
      expect(await seven((i) => forged[i % forged.length]())).to.deep.equal(expected);
    });

    it('limits a client whose cookies are validly signed by another app (another secret)', async () => {
      const other = express();
      other.set('trust proxy', true);
      other.use(limitMiddleware({ cache, annoBackend: new AnnoSessionBackend({ secure: false, secret: 'z'.repeat(32) }), logger: quietLogger }));
      other.get('/free', limiter(1000, 60), (req, res) => res.json({ ok: true }));
      const foreign: string[] = [];
      for (let i = 0; i < LIMIT + 2; i++) foreign.push(cookieOf((await request(other).get('/free').set('X-Forwarded-For', `192.0.2.${i + 1}`)).headers['set-cookie']));
      expect(await seven((i) => foreign[i])).to.deep.equal(expected);
    });

    it("cannot spend a victim's quota by sending the victim's session id unsigned or re-signed", async () => {
      const victimIp = `203.0.113.${clientNo}`;
      const victimCookie = cookieOf((await request(app).get('/entry').set('X-Forwarded-For', victimIp)).headers['set-cookie']);
      const victimId = victimCookie.split('=')[1].split('.')[0];
      const attempts = [`th-session=${victimId}`, `th-session=${victimId}.${randomBytes(32).toString('base64url')}`];
      // The attacker's requests count against the attacker's own IP...
      expect(await seven((i) => attempts[i % 2])).to.deep.equal(expected);
      // ...and the victim still has the whole budget.
      const victim = [];
      for (let i = 0; i < LIMIT + 1; i++) victim.push((await request(app).get('/anno').set('X-Forwarded-For', victimIp).set('Cookie', victimCookie)).status);
      expect(victim).to.deep.equal([...Array(LIMIT).fill(200), 429]);
    });

    it('limits an IPv6 client hopping addresses inside its /56', async () => {
      const base = `2001:db8:${clientNo.toString(16)}:`;
      expect(await seven(() => undefined, (i) => `${base}${(i * 17).toString(16)}::${i + 1}`)).to.deep.equal(expected);
    });

    it('bounds a client farming fresh sessions: denied requests mint none, so one IP gets at most limit × (limit + 1) per window', async () => {
      // By design a returning browser is counted by its session, and each cookie-less request (counted
      // by IP) may mint one. Only admitted ones do, so the IP budget caps the sessions one IP can hold.
      let admitted = 0;
      const sessions: string[] = [];
      for (let i = 0; i < 4 * LIMIT; i++) {
        const res = await request(app).get('/anno').set('X-Forwarded-For', ip);
        if (res.status === 200) admitted++;
        if (res.status === 429) expect(res.headers['set-cookie'], 'a denied request hands out no session').to.equal(undefined);
        if (res.headers['set-cookie']) sessions.push(cookieOf(res.headers['set-cookie']));
      }
      for (const cookie of sessions) {
        for (let i = 0; i < LIMIT + 1; i++) if ((await request(app).get('/anno').set('X-Forwarded-For', ip).set('Cookie', cookie)).status === 200) admitted++;
      }
      console.log(`      session farming from one IP: ${admitted} admitted per window (limit ${LIMIT}, ${sessions.length} sessions minted from ${4 * LIMIT} cookie-less requests)`);
      expect(sessions).to.have.length(LIMIT);
      expect(admitted).to.equal(LIMIT * (LIMIT + 1));
    });
  });
}
