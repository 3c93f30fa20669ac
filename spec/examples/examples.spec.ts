import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../../examples/app';
import { createExpressApp } from '../../examples/express-app';
import { redisUrl, uniquePrefix } from '../support/redis';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

for (const backing of ['InMemoryCache', 'RedisCache'] as const) {
  describe(`examples/app.ts (the seed's FastAPI integration) on ${backing}`, () => {
    let example: ReturnType<typeof createApp>;
    beforeEach(async () => {
      example = createApp(backing === 'RedisCache' ? { redisUrl: await redisUrl(), keyPrefix: uniquePrefix('example') } : {});
    });
    afterEach(async () => example.close());

    it('GET /token/ gives [access, refresh]; GET /get_user/ with the access token gives the AuthData', async () => {
      const { body: tokens } = await request(example.app).get('/token/').expect(200);
      expect(tokens).to.be.an('array').with.length(2);
      const { body: auth } = await request(example.app).get('/get_user/').set('Authorization', `Bearer ${tokens[0]}`).expect(200);
      expect(auth.identifier).to.equal('123');
      expect(auth.scope).to.equal(null);
      expect(auth.extra).to.have.keys('exp', 'iat', 'jti');
      await request(example.app).get('/get_user/').expect(401);
      await request(example.app).get('/get_user/').set('Authorization', `Bearer ${tokens[1]}`).expect(401);
    });

    it('limits /api/1/ to 10 per 10 s for everyone, /api/3/ for users only, /api/2/ for anonymous callers only', async () => {
      const [access] = (await request(example.app).get('/token/')).body;
      const user = { Authorization: `Bearer ${access}` };
      for (let i = 0; i < 10; i++) await request(example.app).get('/api/1/').set(user).expect(200);
      await request(example.app).get('/api/1/').set(user).expect(429);
      for (let i = 0; i < 10; i++) await request(example.app).get('/api/3/').set(user).expect(200);
      await request(example.app).get('/api/3/').set(user).expect(429);
      for (let i = 0; i < 12; i++) await request(example.app).get('/api/2/').set(user).expect(200);
      // anonymous callers: /api/3/ is not limited for them, /api/2/ is
      const anon = request.agent(example.app);
      for (let i = 0; i < 12; i++) {
        const res = await anon.get('/api/3/').expect(200);
        expect(res.headers).to.not.have.property('ratelimit');
      }
      // No session was minted on the unlimited /api/3/ (else 10 × 200 then 429): the first /api/2/ request, cookie-less, is
      // counted by IP and mints it; the next ten are counted by the session.
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await anon.get('/api/2/')).status);
      expect(statuses.filter((s) => s === 200)).to.have.length(11);
      expect(statuses[11]).to.equal(429);
    });
  });
}

describe('examples/express-app.ts (the seed\'s Throttling section on plain Express)', () => {
  it('limits per route and scope, and decides stacked rules together', async () => {
    const { app, jwtService, close } = createExpressApp();
    try {
      const [access] = await jwtService.createToken({ sub: 'u1' });
      const res = await request(app).get('/api/3/').set('Authorization', `Bearer ${access}`).expect(200);
      expect(res.body).to.deep.equal({ status: 'success', user: 'u1' });
      for (let i = 0; i < 5; i++) await request(app).get('/search/').set('Authorization', `Bearer ${access}`).expect(200);
      const denied = await request(app).get('/search/').set('Authorization', `Bearer ${access}`).expect(429);
      expect(denied.headers['ratelimit-policy']).to.equal('"5-in-1s";q=5;w=1, "100-in-3600s";q=100;w=3600');
    } finally {
      await close();
    }
  });
});

describe('examples/tokens.ts (the seed\'s token example)', () => {
  for (const env of [{}, { REDIS_URL: '' }]) {
    const onRedis = 'REDIS_URL' in env;
    it(`prints null for the old access token and the payload for the new one${onRedis ? ' (on Redis)' : ''}`, async function () {
      this.timeout(30_000);
      const extra = onRedis ? { REDIS_URL: await redisUrl() } : { REDIS_URL: '' };
      const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'examples', 'tokens.ts')], { env: { ...process.env, ...extra }, cwd: root });
      const [first, ...rest] = stdout.trim().split('\n');
      expect(first).to.equal('null');
      expect(rest.join('\n')).to.contain("sub: '123'");
    });
  }
});

describe('examples/caching.ts and examples/keys.ts', () => {
  it('caching prints the value, then false for nx on an existing key', async function () {
    this.timeout(30_000);
    for (const env of [{ REDIS_URL: '' }, { REDIS_URL: await redisUrl() }]) {
      const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'examples', 'caching.ts')], { env: { ...process.env, ...env }, cwd: root });
      expect(stdout.trim().split('\n')).to.deep.equal(['hello', 'false']);
    }
  });

  it('keys prints the algorithms the keys pick', async function () {
    this.timeout(30_000);
    const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'examples', 'keys.ts')], { cwd: root });
    expect(stdout.trim().split('\n')).to.deep.equal(['EdDSA', 'HS512', 'EdDSA']);
  });
});
