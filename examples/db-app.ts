/**
 * The DB part of the example app: a users table (schema applied at startup), registration and a real login
 * that checks an scrypt hash before issuing tokens, and a password change that logs the user out everywhere
 * only once its transaction has committed. `npm run start:db` runs it on PGlite (embedded, no server);
 * with DATABASE_URL set it runs on PostgreSQL.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { Database, InMemoryCache, JWTService, makeEdKey, transactional, WebtoolError } from '../src';

const SCRYPT_KEY_BYTES = 64;

function scryptKey(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, SCRYPT_KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$<salt>$<key>`, base64; node:crypto's default cost (N=16384, r=8, p=1). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${(await scryptKey(password, salt)).toString('base64')}`;
}

/** Constant-time check of `password` against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptKey(password, Buffer.from(salt, 'base64'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export const schema = `CREATE TABLE IF NOT EXISTS users (
  id serial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL
)`;

/** Hash compared against when the user does not exist, so a login takes as long for unknown names. */
const dummyHash = hashPassword(randomBytes(16).toString('hex'));

function credentials(body: unknown): { username: string; password: string } | null {
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || !/^[a-z0-9_.-]{1,64}$/i.test(username)) return null;
  if (typeof password !== 'string' || password.length < 8 || password.length > 256) return null;
  return { username, password };
}

function problem(res: express.Response, status: number, title: string) {
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status }));
}

/** Builds the app on `db` (default `Database.fromEnv()`), after applying the schema. */
export async function createDbApp(options: { db?: Database } = {}) {
  const db = options.db ?? Database.fromEnv();
  await db.query(schema);
  const cache = new InMemoryCache();
  const jwtService = new JWTService(cache, { secretKey: makeEdKey() });

  const app = express();
  app.use(express.json({ limit: '10kb' }));
  app.use(transactional(db));

  app.post('/users', async (req, res, next) => {
    const c = credentials(req.body);
    if (!c) return problem(res, 400, 'username: 1-64 of [a-z0-9_.-]; password: 8-256 characters');
    try {
      const { rows } = await db.query<{ id: number }>('INSERT INTO users (username, password_hash) VALUES ($1, $2) ON CONFLICT (username) DO NOTHING RETURNING id', [c.username, await hashPassword(c.password)]);
      if (rows.length === 0) return problem(res, 409, 'username taken');
      res.status(201).json({ id: rows[0].id });
    } catch (err) {
      next(err);
    }
  });

  app.post('/login', async (req, res, next) => {
    const c = credentials(req.body);
    if (!c) return problem(res, 401, 'Unauthorized');
    try {
      const { rows } = await db.query<{ id: number; password_hash: string }>('SELECT id, password_hash FROM users WHERE username = $1', [c.username]);
      const ok = await verifyPassword(c.password, rows[0]?.password_hash ?? (await dummyHash));
      if (!ok || rows.length === 0) return problem(res, 401, 'Unauthorized');
      const [access, refresh] = await jwtService.createToken({ sub: String(rows[0].id) });
      res.json({ access, refresh });
    } catch (err) {
      next(err);
    }
  });

  app.put('/password', async (req, res, next) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const auth = token ? await jwtService.validateAccessToken(token) : null;
    const { password, newPassword } = (req.body ?? {}) as Record<string, unknown>;
    if (!auth) return problem(res, 401, 'Unauthorized');
    if (typeof password !== 'string' || typeof newPassword !== 'string' || newPassword.length < 8 || newPassword.length > 256) {
      return problem(res, 400, 'password and newPassword (8-256 characters) required');
    }
    try {
      const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1 FOR UPDATE', [Number(auth.sub)]);
      if (!rows[0] || !(await verifyPassword(password, rows[0].password_hash))) return problem(res, 401, 'Unauthorized');
      await db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [await hashPassword(newPassword), Number(auth.sub)]);
      // log the user out everywhere, but only once the new password is committed
      db.afterCommit(() => jwtService.revokeAll(auth.sub));
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof WebtoolError) return res.status(err.status).type('application/problem+json').send(JSON.stringify(err));
    problem(res, 500, 'Internal Server Error');
  });

  const close = async () => {
    await jwtService.close();
    await cache.close();
    await db.close();
  };
  return { app, db, jwtService, close };
}

if (require.main === module) {
  const started = performance.now();
  createDbApp().then(({ app }) => {
    const port = Number(process.env.PORT ?? 8000);
    const server = app.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as import('node:net').AddressInfo;
      console.log(`webtool db example on http://127.0.0.1:${bound} (ready in ${Math.round(performance.now() - started)} ms)`);
    });
  });
}
