#!/usr/bin/env node
/**
 * @module The `webtool` command: `webtool keygen --type ed25519 [--out file] [--password-env VAR]`.
 */
import { parseArgs } from 'node:util';
import { makeEcKey, makeEdKey, makeRsaKey, makeSymmetricKey, saveKey } from './utils/make-key';

const USAGE = `usage: webtool keygen --type <type> [--out <file>] [--password-env <VAR>]
  types: ed25519 es256 es384 es512 rs256 rs384 rs512 hs256 hs384 hs512
  --out           write the key to <file> (mode 0600; never overwrites)
  --password-env  encrypt the private key with the password held in environment variable <VAR>`;

const GENERATORS: Record<string, (password?: string) => string> = {
  ed25519: (password) => makeEdKey({ algorithm: 'Ed25519', password }),
  es256: (password) => makeEcKey({ algorithm: 'ES256', password }),
  es384: (password) => makeEcKey({ algorithm: 'ES384', password }),
  es512: (password) => makeEcKey({ algorithm: 'ES512', password }),
  rs256: (password) => makeRsaKey({ algorithm: 'RS256', password }),
  rs384: (password) => makeRsaKey({ algorithm: 'RS384', password }),
  rs512: (password) => makeRsaKey({ algorithm: 'RS512', password }),
  hs256: () => makeSymmetricKey({ algorithm: 'HS256' }),
  hs384: () => makeSymmetricKey({ algorithm: 'HS384' }),
  hs512: () => makeSymmetricKey({ algorithm: 'HS512' }),
};

/** Types whose key is a shared secret, which `--password-env` cannot encrypt. */
const SYMMETRIC = new Set(['hs256', 'hs384', 'hs512']);

/** Where the command writes; injectable for specs. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Runs the command. @returns the exit code (0 ok, 1 failed, 2 usage). */
export function main(argv: string[], io: CliIO): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { type: { type: 'string' }, out: { type: 'string' }, 'password-env': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const generate = GENERATORS[(values.type ?? 'ed25519').toLowerCase()];
  if (positionals.length !== 1 || positionals[0] !== 'keygen' || !generate) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  const type = (values.type ?? 'ed25519').toLowerCase();
  if (values['password-env'] !== undefined && SYMMETRIC.has(type)) {
    // An HMAC secret has no encrypted PEM form: going on would write it in clear (issue 8 item 12).
    io.err(`--password-env cannot protect a ${type} key: an HMAC secret has no encrypted form and would be written in clear.\nDrop --password-env and keep the secret private (--out writes it with mode 0600), or choose an asymmetric type.\n`);
    return 2;
  }
  let password: string | undefined;
  if (values['password-env']) {
    password = io.env[values['password-env']];
    if (!password) {
      io.err(`environment variable ${values['password-env']} is empty or unset\n`);
      return 1;
    }
  }
  try {
    const key = generate(password);
    if (values.out) {
      saveKey(key, values.out); // as generated: a secret file gets no trailing newline to trip over
      io.err(`wrote ${values.out}\n`);
    } else {
      io.out(key.endsWith('\n') ? key : `${key}\n`);
    }
    return 0;
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  });
}
