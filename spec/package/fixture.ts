/**
 * @module Builds the package once per mocha run, packs it with `npm pack`, and installs the tarball into
 * a fresh temporary app, as a new user would (offline: dependencies from the npm cache, peers linked
 * from this repo's node_modules rather than downloaded). Shared by the spec/package/* specs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const root = join(__dirname, '..', '..');
export const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Peers (and their types) a user installs beside webtool; linked, not downloaded. */
const PEERS = ['express', '@types/express', '@types/node', 'routing-controllers', 'class-validator', 'class-transformer', 'reflect-metadata'];

let built: Promise<void> | undefined;
let installed: Promise<string> | undefined;

/** `npm run build` once per run. */
export function build(): Promise<void> {
  return (built ??= run('npm', ['run', 'build'], { cwd: root }).then(
    () => undefined,
    (err: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    },
  ));
}

/** The directory of a temporary app with the packed tarball installed; made once per run, removed at exit. */
export function installedApp(): Promise<string> {
  return (installed ??= (async () => {
    await build();
    const dir = mkdtempSync(join(tmpdir(), 'webtool-consumer-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root });
    const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    await run('npm', ['install', join(dir, filename), '--no-audit', '--no-fund', '--prefer-offline', '--legacy-peer-deps', '--no-package-lock'], { cwd: dir });
    for (const peer of PEERS) {
      const target = join(dir, 'node_modules', peer);
      mkdirSync(join(target, '..'), { recursive: true });
      symlinkSync(join(root, 'node_modules', peer), target, 'dir');
    }
    return dir;
  })());
}
