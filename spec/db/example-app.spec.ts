import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { createDbApp } from '../../examples/db-app';
import { Database } from '../../src';
import { createTestDatabase } from './support';

const root = join(__dirname, '..', '..');

for (const backing of ['PGlite (no DATABASE_URL)', 'PostgreSQL 15 (DATABASE_URL)'] as const) {
  describe(`examples/db-app.ts on ${backing}`, function () {
    this.timeout(60_000);
    let example: Awaited<ReturnType<typeof createDbApp>>;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const env: NodeJS.ProcessEnv = {};
      if (backing.startsWith('PostgreSQL')) {
        const pg = await createTestDatabase();
        drop = pg.drop;
        env.DATABASE_URL = pg.url;
      }
      example = await createDbApp({ db: Database.fromEnv(env) });
    });
    after(async () => {
      await example.close();
      await drop?.();
    });

    it('registers a user; a taken name is 409, a malformed body 400', async () => {
      await request(example.app).post('/users').send({ username: 'ann', password: 'correct horse' }).expect(201);
      await request(example.app).post('/users').send({ username: 'ann', password: 'other password' }).expect(409);
      await request(example.app).post('/users').send({ username: 'ann', password: 'short' }).expect(400);
      await request(example.app).post('/users').send({ username: ['ann'], password: 'correct horse' }).expect(400);
      const { rows } = await example.db.query('SELECT password_hash FROM users WHERE username = $1', ['ann']);
      expect(rows[0].password_hash).to.match(/^scrypt\$/).and.not.contain('correct horse');
    });

    it('logs in only with the right password (scrypt), then issues tokens', async () => {
      await request(example.app).post('/login').send({ username: 'ann', password: 'wrong horse' }).expect(401);
      await request(example.app).post('/login').send({ username: 'nobody', password: 'correct horse' }).expect(401);
      const res = await request(example.app).post('/login').send({ username: 'ann', password: 'correct horse' }).expect(200);
      const payload = await example.jwtService.validateAccessToken(res.body.access);
      expect(payload?.sub).to.be.a('string');
    });

    it('a password change logs the user out everywhere once committed; a change whose COMMIT fails revokes nothing', async () => {
      const login = (password: string) => request(example.app).post('/login').send({ username: 'ann', password });
      const { body: first } = await login('correct horse').expect(200);
      // A deferred trigger that refuses every UPDATE of users at COMMIT: the handler has already chosen 204.
      await example.db.query(`CREATE OR REPLACE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514'; END $$`);
      await example.db.query('CREATE CONSTRAINT TRIGGER doomed AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_update()');
      const doomed = await request(example.app).put('/password').set('Authorization', `Bearer ${first.access}`).send({ password: 'correct horse', newPassword: 'battery staple' });
      expect(doomed.status).to.equal(409);
      expect(doomed.body.code).to.equal('ERR_WT_DB_TRANSACTION_ABORTED');
      expect(await example.jwtService.validateRefreshToken(first.refresh)).to.not.equal(null);
      await example.db.query('DROP TRIGGER doomed ON users');

      await request(example.app).put('/password').set('Authorization', `Bearer ${first.access}`).send({ password: 'wrong horse', newPassword: 'battery staple' }).expect(401);
      await request(example.app).put('/password').set('Authorization', `Bearer ${first.access}`).send({ password: 'correct horse', newPassword: 'battery staple' }).expect(204);
      expect(await example.jwtService.validateRefreshToken(first.refresh)).to.equal(null);
      expect(await example.jwtService.validateAccessToken(first.access)).to.equal(null);
      await login('correct horse').expect(401);
      await login('battery staple').expect(200);
    });
  });
}

/** CPU seconds a process has used (user + system), from /proc: independent of how loaded the machine is. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('npm start (the example app with its DB routes on PGlite, no server)', () => {
  it('answers its first DB request after under 20 s of CPU time (cold PGlite start and ts-node included)', async function () {
    this.timeout(120_000);
    const started = performance.now();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'examples', 'app.ts')], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '', PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          const m = /http:\/\/[\d.]+:\d+/.exec(String(chunk));
          if (m) resolve(m[0]);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      await request(url).post('/users').send({ username: 'first', password: 'first password' }).expect(201);
      const cpu = cpuSeconds(child.pid!);
      console.log(`      first DB answer after ${((performance.now() - started) / 1000).toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU`);
      expect(cpu).to.be.lessThan(20);
    } finally {
      child.kill();
    }
  });
});
