/**
 * attack-r8b child: a plain Express 4 server (no test runner, Node's default unhandled-rejection mode),
 * app.use(transactional(db)) then express.json(), a handler pausing 100 ms before its one statement.
 * Prints its port; the parent sends a slow body and hangs up.
 */
import express from 'express';
import { Database, transactional } from '../../src';

const db = new Database({ primary: process.argv[2] });
const app = express();
app.use(transactional(db));
app.use(express.json());
app.post('/items', async (req, res) => {
  await new Promise((r) => setTimeout(r, 100));
  await db.query('SELECT $1::text', [req.body.name]);
  res.status(201).json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
// The parent ends it with SIGTERM (by pid) if it is still alive.
