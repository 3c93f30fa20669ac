/**
 * @module Stockpiled anonymous sessions (found from outside after the mint budget landed): a client
 * that farmed cookies slowly — a few per minute, within the per-minute mint budget — kept every one,
 * and since a signed cookie never expired on the server, each stayed a budget of its own: 29 cookies
 * farmed over 2.5 minutes bought 290 password guesses at once on a route limited to 10 per minute.
 * Now a session id is signed with its expiry (the server refuses it after `maxAge`, whatever the
 * browser keeps), and the default mint budget spans a whole cookie lifetime, so the sessions one IP
 * can HOLD are bounded, not only how fast it collects them.
 */
import type { Express } from 'express';
import express from 'express';
import request from 'supertest';
import { expect } from 'chai';
import type { Cache } from '../../src/cache/cache';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { sign, unsign } from '../../src/auth/backends/signed-id';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { CACHES, cookieOf, quietLogger } from '../support/app-factory';

const SECRET = 's'.repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('signed session ids', () => {
  const secret = Buffer.from(SECRET);
  it('carry their expiry: refused once it has passed, and a changed expiry breaks the signature', () => {
    const value = sign(secret, 'a'.repeat(22), 1_000);
    expect(unsign(secret, value, 999)).to.equal('a'.repeat(22));
    expect(unsign(secret, value, 1_000)).to.equal(null);
    const [id, , mac] = value.split('.');
    expect(unsign(secret, `${id}.${(1e9).toString(36)}.${mac}`, 999)).to.equal(null);
    expect(unsign(secret, `${id}.${mac}`, 999)).to.equal(null); // the old, expiry-less form
  });
});

for (const cacheKind of CACHES) {
  describe(`AnnoSessionBackend stockpiling (${cacheKind.name})`, function () {
    this.timeout(60_000);
    let cache: Cache;

    afterEach(() => cache?.close());

    async function farmThenSpend(backend: AnnoSessionBackend, farmMs: number): Promise<{ farmed: number; admitted: number }> {
      cache = await cacheKind.make();
      const app: Express = express();
      app.use(limitMiddleware({ cache, annoBackend: backend, logger: quietLogger }));
      app.get('/hello', limiter(10_000, 60, [], { algorithm: 'gcra' }), (req, res) => res.json({ ok: true }));
      app.post('/login', limiter(1, 60), (req, res) => res.json({ ok: true }));
      const cookies = new Set<string>();
      const deadline = Date.now() + farmMs;
      while (Date.now() < deadline) {
        const cookie = cookieOf((await request(app).get('/hello')).headers['set-cookie']);
        if (cookie) cookies.add(cookie);
        await sleep(50);
      }
      let admitted = 0;
      for (const cookie of cookies) if ((await request(app).post('/login').set('Cookie', cookie)).status === 200) admitted++;
      return { farmed: cookies.size, admitted };
    }

    it('a patient farmer holds at most the sessions minted in one cookie lifetime: expired cookies are counted by IP', async () => {
      // 2 mints per second, cookies living 2 s: GCRA admits at most 6 mints in any 2 s, so at most 6
      // cookies are alive at once; with the IP's own budget, at most 7 of the farmed cookies get through.
      const backend = new AnnoSessionBackend({ secure: false, secret: SECRET, maxAge: 2, mintBudget: { limit: 2, windowMs: 1000 }, logger: quietLogger });
      const { farmed, admitted } = await farmThenSpend(backend, 6_000);
      expect(farmed, 'cookies farmed over three lifetimes').to.be.greaterThan(8);
      expect(admitted).to.be.at.most(7);
    });

    it('with the default mint budget (10 per cookie lifetime), one IP holds at most 2 × 10 live sessions', async () => {
      const backend = new AnnoSessionBackend({ secure: false, secret: SECRET, maxAge: 2, logger: quietLogger });
      const { admitted } = await farmThenSpend(backend, 5_000);
      expect(admitted).to.be.at.most(2 * 10 + 1);
    });
  });
}
