/** @module Two JWTService instances on one cache object and prefix (a login module and an API module): a revocation through one applies to the other at once. */
import { expect } from 'chai';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { JWTBackend } from '../../../src/auth/backends/jwt-backend';
import { identify } from '../../../src/auth/identify';
import { JWTService } from '../../../src/auth/jwt-service';
import { InMemoryCache } from '../../../src/cache/in-memory-cache';
import { makeEdKey } from '../../../src/utils/make-key';
import { EXPRESS_MAJORS } from '../../support/app-factory';

describe('revocations shared by the services of one process', () => {
  it('a logout through service A is honoured by the JWTBackend of service B (same cache, same key) on a cached token', async () => {
    const cache = new InMemoryCache();
    const key = makeEdKey();
    const A = new JWTService(cache, { secretKey: key });
    const B = new JWTService(cache, { secretKey: key });
    const a = EXPRESS_MAJORS[0].load()() as unknown as Express;
    a.use(identify({ backends: [new JWTBackend(B)] }));
    a.get('/w', (req: Request, res: Response) => res.json({ auth: req.auth?.identifier ?? null }));
    const [acc, ref] = await A.createToken({ sub: 'x' });
    expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('x');
    expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal('x');
    expect(await A.invalidateToken(ref)).to.equal(true);
    expect((await request(a).get('/w').set('Authorization', `Bearer ${acc}`)).body.auth).to.equal(null);
    await A.close();
    await B.close();
    await cache.close();
  });
});
