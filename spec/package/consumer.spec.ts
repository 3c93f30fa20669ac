/**
 * @module A new user's first hour, against the packed tarball: the README's quick start, pasted as is,
 * type-checks under moduleResolution node10, node16, nodenext and bundler (CommonJS and ESM), every
 * subpath resolves with its types, and the compiled quick start serves login, refresh, logout, a
 * limited route, `@CurrentAuth` and `@Authorized` with the shipped error handler — printing nothing
 * for refused requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { installedApp, root, run, tsc } from './fixture';

/** The first ```ts block under "## Quick start" in the README. */
export function readmeQuickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## Quick start\s*$/m)[1];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "## Quick start"');
  return block[1];
}

const SUBPATHS = `import { WebtoolError, InvalidOptionError, JWTService, limitMiddleware } from 'webtool';
import { InMemoryCache, RedisCache, type Cache } from 'webtool/cache';
import { JWTBackend, AnnoSessionBackend, type AuthData } from 'webtool/auth';
import { ipKey, makeEdKey } from 'webtool/utils';
import { limiter, MemoryStore, type RateLimitStore } from 'webtool/throttle';
import { CurrentAuth, Limiter, webtoolErrorHandler } from 'webtool/controllers';
import { errorHandler } from 'webtool/express';
import { Database } from 'webtool/db';
export const values = [Database, WebtoolError, InvalidOptionError, JWTService, limitMiddleware, InMemoryCache, RedisCache, JWTBackend,
  AnnoSessionBackend, ipKey, makeEdKey, limiter, MemoryStore, CurrentAuth, Limiter, webtoolErrorHandler, errorHandler];
export type Types = [Cache, AuthData, RateLimitStore];
// The types are real, not any: this line must not compile if they were.
// @ts-expect-error a cache is not a number
export const notANumber: number = new InMemoryCache();
`;

const COMMON = {
  target: 'ES2022',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  skipLibCheck: true,
  types: ['node'],
};

/** One consumer project per module resolution; `files` maps a file name to its text. */
const PROJECTS: { name: string; options: Record<string, unknown>; ext: string[]; emit?: boolean }[] = [
  { name: 'node10', options: { module: 'commonjs', moduleResolution: 'node10', outDir: 'out' }, ext: ['.ts'], emit: true },
  { name: 'node16', options: { module: 'node16', moduleResolution: 'node16', noEmit: true }, ext: ['.cts', '.mts'] },
  { name: 'nodenext', options: { module: 'nodenext', moduleResolution: 'nodenext', noEmit: true }, ext: ['.cts', '.mts'] },
  { name: 'bundler', options: { module: 'esnext', moduleResolution: 'bundler', noEmit: true }, ext: ['.ts'] },
];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the packed package, installed into a fresh app', function () {
  this.timeout(180_000);
  let app: string;
  const quickStart = readmeQuickStart();
  const compiled = new Map<string, Promise<string>>();

  before(async () => {
    app = await installedApp();
    for (const project of PROJECTS) {
      const dir = join(app, project.name);
      mkdirSync(dir, { recursive: true });
      const files: string[] = [];
      for (const ext of project.ext) {
        for (const [base, text] of [['quick-start', quickStart], ['subpaths', SUBPATHS]]) {
          writeFileSync(join(dir, base + ext), text);
          files.push(base + ext);
        }
      }
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...COMMON, ...project.options }, files }));
    }
    // The four compilations run side by side; each test awaits its own diagnostics.
    for (const project of PROJECTS) {
      const compile = run(process.execPath, [tsc, '-p', join(app, project.name)], { cwd: app }).then(
        ({ stdout }) => stdout,
        (err: { stdout: string }) => err.stdout || String(err),
      );
      compiled.set(project.name, compile);
    }
  });

  it('README quick start is examples/quick-start.ts, line for line', () => {
    expect(quickStart).to.equal(readFileSync(join(root, 'examples', 'quick-start.ts'), 'utf8'));
  });

  for (const project of PROJECTS) {
    it(`compiles the quick start and every subpath under moduleResolution ${project.name} (${project.ext.join(', ')})`, async () => {
      const diagnostics = await compiled.get(project.name)!;
      expect(diagnostics, diagnostics).to.equal('');
    });
  }

  describe('the compiled quick start, run with node', () => {
    let child: ChildProcess;
    let output = '';
    let base: string;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) }; // defaults: InMemoryCache, a fresh key
      delete env.REDIS_URL;
      delete env.JWT_KEY;
      child = spawn(process.execPath, [join(app, 'node10', 'out', 'quick-start.js')], { cwd: app, env });
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      const deadline = Date.now() + 20_000;
      while (!output.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(output).to.contain(`listening on http://localhost:${port}`);
    });
    after(() => {
      child?.kill();
    });

    it('logs in, reads /me and /admin, refreshes, logs out; refused requests print nothing', async () => {
      const printedAtStartup = output;
      const refused = await request(base).post('/login').send({ username: 'alice', password: 'guess' }).expect(401);
      expect(refused.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(JSON.parse(refused.text)).to.include({ status: 401, code: 'ERR_WT_UNAUTHORIZED', detail: 'Wrong username or password' });

      const { body: login } = await request(base).post('/login').send({ username: 'alice', password: 'wonderland' }).expect(200);
      const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
      const { body: me } = await request(base).get('/me').set(bearer(login.accessToken)).expect(200);
      expect(me).to.include({ identifier: 'alice' });
      expect(me.scope).to.deep.equal(['admin']);
      await request(base).get('/admin').set(bearer(login.accessToken)).expect(200, { admin: true });
      const anonymous = await request(base).get('/me').expect(401);
      expect(anonymous.headers['www-authenticate']).to.equal('Bearer');

      const { body: next } = await request(base).post('/refresh').send({ refreshToken: login.refreshToken }).expect(200);
      await request(base).get('/me').set(bearer(login.accessToken)).expect(401); // rotated away
      const { body: after } = await request(base).get('/me').set(bearer(next.accessToken)).expect(200);
      expect(after.scope).to.deep.equal(['admin']); // the refresh kept the scope
      // A client whose reply was lost retries the same refresh token: it gets the same pair, not a logout.
      const { body: retried } = await request(base).post('/refresh').send({ refreshToken: login.refreshToken }).expect(200);
      expect(retried.refreshToken).to.equal(next.refreshToken);
      await request(base).get('/me').set(bearer(next.accessToken)).expect(200);
      await request(base).post('/refresh').send({ refreshToken: 'garbage' }).expect(401);
      await request(base).post('/refresh').send({}).expect(401);

      await request(base).post('/logout').send({ refreshToken: next.refreshToken }).expect(200, { loggedOut: true });
      await request(base).get('/me').set(bearer(next.accessToken)).expect(401);
      await request(base).post('/refresh').send({ refreshToken: next.refreshToken }).expect(401);
      await new Promise((r) => setTimeout(r, 100));
      expect(output).to.equal(printedAtStartup);
    });

    it('limits /hello to 5 a minute per caller: the 6th gets 429 with Retry-After', async () => {
      const agent = request.agent(base);
      for (let i = 0; i < 5; i++) await agent.get('/hello').expect(200, { hello: 'anonymous' });
      const limited = await agent.get('/hello').expect(429);
      expect(limited.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
    });
  });
});
