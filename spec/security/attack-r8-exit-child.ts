/**
 * attack-r8 child: a plain Express 4 server (no test runner, Node's default unhandled-rejection mode) with
 * transactional(db, { abortGraceMs }) and a README-style async handler whose pause between statements is
 * `pauseMs`. Prints its port; the parent hangs up.
 */
import express from 'express';
import { Database, transactional } from '../../src';

const url = process.argv[2];
const graceMs = Number(process.argv[3]);
const pauseMs = Number(process.argv[4]);
const db = new Database({ primary: url });
const app = express();
app.use(express.json());
app.post('/slow', transactional(db, { abortGraceMs: graceMs }), async (req, res) => {
  await db.query('SELECT $1::text', [req.body.name]);
  await new Promise((r) => setTimeout(r, pauseMs));
  await db.query('SELECT $1::text', [`${req.body.name}#2`]);
  res.status(201).json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
// The parent ends it with SIGTERM (by pid) if it is still alive.
