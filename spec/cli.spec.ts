import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { main } from '../src/cli';
import { loadKey } from '../src/utils/load-key';

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe('webtool keygen (CLI)', () => {
  it('prints a key of the requested type', () => {
    const { code, out } = run(['keygen', '--type', 'es384']);
    expect(code).to.equal(0);
    expect(loadKey(out).algorithm).to.equal('ES384');
  });

  it('writes --out with mode 0600 and refuses to overwrite', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'webtool-cli-')), 'k.pem');
    expect(run(['keygen', '--type', 'ed25519', '--out', file]).code).to.equal(0);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const first = readFileSync(file, 'utf8');
    const again = run(['keygen', '--type', 'ed25519', '--out', file]);
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/exists/);
    expect(readFileSync(file, 'utf8')).to.equal(first);
  });

  it('encrypts with the password from --password-env', () => {
    const { out } = run(['keygen', '--type', 'rs256', '--password-env', 'KEYPASS'], { KEYPASS: 's3cret' });
    expect(out).to.contain('ENCRYPTED');
    expect(loadKey(out, 's3cret').algorithm).to.equal('RS256');
    expect(run(['keygen', '--password-env', 'MISSING']).code).to.equal(1);
  });

  it('refuses --password-env for an HMAC type instead of writing the secret in clear', () => {
    for (const type of ['hs256', 'HS384', 'hs512']) {
      const { code, out, err } = run(['keygen', '--type', type, '--password-env', 'PW'], { PW: 's3cret' });
      expect(code, type).to.equal(2);
      expect(out).to.equal('');
      expect(err).to.match(/cannot protect a hs\d{3} key: an HMAC secret has no encrypted form and would be written in clear/);
    }
    expect(run(['keygen', '--type', 'hs256']).code).to.equal(0); // without a password: as before
  });

  it('answers usage with exit code 2 for unknown commands, types and flags', () => {
    expect(run(['nope']).code).to.equal(2);
    expect(run(['keygen', '--type', 'dsa']).code).to.equal(2);
    expect(run(['keygen', '--bogus']).code).to.equal(2);
    expect(run(['--help']).out).to.contain('usage: webtool keygen');
  });

  it('runs as a program', function () {
    this.timeout(20_000);
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'cli.ts'), 'keygen', '--type', 'hs384'], {
      encoding: 'utf8',
    });
    expect(loadKey(out.trim()).algorithm).to.equal('HS384');
  });
});
