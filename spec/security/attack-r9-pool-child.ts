/**
 * attack-r9 child: a plain Express 4 server (Node's default unhandled-rejection mode) on a pool of
 * `maxConnections` with transactional() (default grace) and a README-style async handler with no try/catch:
 * a statement, a pause of `hold` ms (from the body), a statement, the answer. Prints its port.
 */
import express from 'express';
import { Database, transactional } from '../../src';

const db = new Database({ primary: process.argv[2], maxConnections: Number(process.argv[3]) });
const app = express();
app.use(express.json());
app.post('/slow', transactional(db), async (req, res) => {
  await db.query('SELECT $1::text', [req.body.name]);
  await new Promise((r) => setTimeout(r, Number(req.body.hold)));
  await db.query('SELECT $1::text', [`${req.body.name}#2`]);
  res.status(201).json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
// The parent ends it with SIGTERM (by pid) if it is still alive.
