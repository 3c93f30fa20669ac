/**
 * Instructions per request of a whole Express app, counted by valgrind (callgrind): steadier than CPU
 * time on this 2-core VM (µs per request swing ±20 % between identical runs), though not exact: the same
 * code measured 399,517 and 431,748 in two runs. Compare several runs, never one.
 * `instructions.ts <variant,…> [checkout,…]` builds each checkout's src with tsc into bench/scratch/,
 * runs `instructions-child.js` under valgrind for N1 and N2 requests (env, default 5,000 and 15,000:
 * past JIT warm-up) and prints (I(N2) − I(N1)) / (N2 − N1). Two runs at a time (2 cores).
 * Variants: see instructions-child.js. Variants named *fresh* get a new token on every request: the tokens
 * are signed here, before any count, and handed to the child in a file (FRESH_FILE, FRESH_KEY).
 * `instructions.ts --save` counts the fixed set below (peers beside webtool) and writes
 * bench/results/instructions.json, which `npm run bench:readme` renders into the README.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { makeEdKey } from '../src';
import { parseJWTOptions } from '../src/auth/jwt/options';
import { newTokenId, signToken } from '../src/auth/jwt/sign';
import { SAVED_VARIANTS, type InstructionsReport } from './report';

const N1 = Number(process.env.N1 ?? 5000);
const N2 = Number(process.env.N2 ?? 15000);

function build(checkout: string, i: number): string {
  const out = join(__dirname, 'scratch', `instructions-${i}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(checkout, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
  // The Lua scripts sit beside the code that reads them, as in the package.
  cpSync(join(checkout, 'src'), out, { recursive: true, filter: (from) => !from.endsWith('.ts') });
  return out;
}

function count(dist: string, variant: string, n: number): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', join(__dirname, 'instructions-child.js'), dist, variant, String(n)]);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => {
      const m = /Collected : (\d+)/.exec(err);
      if (code === 0 && m) done(Number(m[1]));
      else fail(new Error(`${variant} (${n}): exit ${code}\n${err.slice(-2000)}`));
    });
  });
}

async function perRequest(dist: string, variant: string): Promise<number> {
  const [a, b] = await Promise.all([count(dist, variant, N1), count(dist, variant, N2)]);
  return Math.round((b - a) / (N2 - N1));
}

async function save(): Promise<void> {
  if (SAVED_VARIANTS.some((v) => v.name.includes('fresh'))) await freshTokens();
  const dist = build(join(__dirname, '..'), 0);
  const rows: InstructionsReport['rows'] = [];
  for (const { name, label } of SAVED_VARIANTS) {
    const instructions = await perRequest(dist, name);
    console.log(`${name.padEnd(32)} ${instructions.toLocaleString('en').padStart(9)} instructions/request`);
    rows.push({ name, label, instructions });
  }
  const valgrind = execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
  const report: InstructionsReport = { date: new Date().toISOString(), cpu: cpus()[0].model, node: process.version, valgrind, requests: [N1, N2], rows };
  writeFileSync(join(__dirname, 'results', 'instructions.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log('written to bench/results/instructions.json; npm run bench:readme puts it in the README');
}

/** N2 tokens no server has seen, each for one request of a *fresh* variant (signing is not counted). */
async function freshTokens(): Promise<void> {
  const key = makeEdKey();
  const config = parseJWTOptions({ secretKey: key });
  const iat = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(Array.from({ length: N2 }, (_, i) => signToken(config, { claims: { sub: `fresh-${i % 50}` }, type: 'access', jti: newTokenId(), fid: newTokenId(), iat, ttlS: 36_000 })));
  const file = join(tmpdir(), `webtool-instructions-fresh-${process.pid}.txt`);
  writeFileSync(file, tokens.join('\n'));
  process.env.FRESH_FILE = file;
  process.env.FRESH_KEY = key;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--save') return save();
  const variants = process.argv[2].split(',');
  if (variants.some((v) => v.includes('fresh'))) await freshTokens();
  const checkouts = (process.argv[3]?.split(',') ?? [join(__dirname, '..')]).map((c) => resolve(c));
  const dists = checkouts.map(build);
  for (const variant of variants) {
    for (const [i, dist] of dists.entries()) {
      console.log(`${variant.padEnd(32)} ${checkouts[i].padEnd(24)} ${(await perRequest(dist, variant)).toLocaleString('en').padStart(9)} instructions/request`);
    }
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
