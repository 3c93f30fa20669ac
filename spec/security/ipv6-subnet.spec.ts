/**
 * @module Issue 8 item 12 (ipv6Subnet): NaN, 0, 200, -5 and '64' were accepted, and NaN put every
 * IPv6 client in one bucket. Now every place that takes the option refuses it at construction with
 * an InvalidOptionError naming `ipv6Subnet`; and limitMiddleware's IP fallback honours it (it used to
 * ignore it and always group by /56).
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { AnnoSessionBackend } from '../../src/auth/backends/anno-session-backend';
import { IPBackend } from '../../src/auth/backends/ip-backend';
import { identify } from '../../src/auth/identify';
import { InMemoryCache } from '../../src/cache/in-memory-cache';
import { InvalidOptionError } from '../../src/errors';
import { limitMiddleware } from '../../src/throttle/limit-middleware';
import { limiter } from '../../src/throttle/limiter';
import { ipKey } from '../../src/utils/ip-key';
import { quietLogger } from '../support/app-factory';

const BAD = [Number.NaN, 0, 200, 129, -5, 1.5, Infinity, '64', null, true];

describe('ipv6Subnet validation', () => {
  const cache = new InMemoryCache();
  after(() => cache.close());

  const makers: [string, (ipv6Subnet: unknown) => unknown][] = [
    ['IPBackend', (ipv6Subnet) => new IPBackend({ ipv6Subnet } as never)],
    ['AnnoSessionBackend', (ipv6Subnet) => new AnnoSessionBackend({ secret: 'k'.repeat(32), ipv6Subnet } as never)],
    ['identify', (ipv6Subnet) => identify({ ipv6Subnet } as never)],
    ['limitMiddleware', (ipv6Subnet) => limitMiddleware({ cache, annoBackend: false, ipv6Subnet, logger: quietLogger } as never)],
    ['ipKey', (ipv6Subnet) => ipKey('2001:db8::1', { ipv6Subnet } as never)],
  ];

  for (const [name, make] of makers) {
    it(`${name} refuses ${BAD.map((b) => (typeof b === 'string' ? `'${b}'` : String(b))).join(', ')} naming ipv6Subnet, and takes 1, 64, 128 and false`, () => {
      for (const bad of BAD) {
        try {
          make(bad);
          expect.fail(`accepted ${String(bad)}`);
        } catch (err) {
          expect(err, String(bad)).to.be.instanceOf(InvalidOptionError);
          expect((err as InvalidOptionError).code).to.equal('ERR_WT_INVALID_OPTION');
          expect((err as InvalidOptionError).option).to.equal('ipv6Subnet');
          expect((err as Error).message).to.match(/^ipv6Subnet: must be an integer from 1 to 128/);
        }
      }
      for (const good of [1, 64, 128, false]) expect(() => make(good), String(good)).to.not.throw();
    });
  }

  it("limitMiddleware's IP fallback honours ipv6Subnet: two /64s of one /56 are two budgets at 64", async () => {
    const app = express();
    app.set('trust proxy', true);
    app.use(limitMiddleware({ cache, keyPrefix: 'v6:', annoBackend: false, ipv6Subnet: 64, logger: quietLogger }));
    app.get('/one', limiter(1, 60), (req, res) => res.json({ ok: true }));
    await request(app).get('/one').set('X-Forwarded-For', '2001:db8:9:100::1').expect(200);
    await request(app).get('/one').set('X-Forwarded-For', '2001:db8:9:100::2').expect(429); // same /64
    await request(app).get('/one').set('X-Forwarded-For', '2001:db8:9:101::1').expect(200); // same /56, other /64
  });
});
