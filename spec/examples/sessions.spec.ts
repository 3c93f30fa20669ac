import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { createSessionApp } from '../../examples/sessions';
import { cookieOf } from '../support/app-factory';

describe('examples/sessions.ts (identify() alone: express-session login and bearer tokens)', () => {
  const example = createSessionApp('session-secret-'.repeat(3));
  after(() => example.close());

  it('a logged-in session is the user; made-up and forged cookies are not; a bearer token is', async () => {
    const login = await request(example.app).post('/login').send({ user: 'dana' }).expect(200);
    const cookie = cookieOf(login.headers['set-cookie']);
    expect(cookie).to.match(/^connect\.sid=/);
    expect((await request(example.app).get('/me').set('Cookie', cookie).expect(200)).body).to.deep.equal({ identifier: 'dana', scope: null, extra: {} });
    const sid = randomBytes(16).toString('base64url');
    for (const forged of ['connect.sid=made-up', `connect.sid=s%3A${sid}.${randomBytes(32).toString('base64url')}`, `connect.sid=${sid}`]) {
      const res = await request(example.app).get('/me').set('Cookie', forged).expect(401);
      expect(res.body).to.deep.equal({ error: 'unauthorized' });
      expect(res.headers, 'no session is created for a stranger').to.not.have.property('set-cookie');
    }
    const [access] = await example.jwtService.createToken({ sub: 'erin' });
    expect((await request(example.app).get('/me').set('Authorization', `Bearer ${access}`).expect(200)).body.identifier).to.equal('erin');
  });
});
