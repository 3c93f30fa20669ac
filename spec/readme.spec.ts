/**
 * @module Keeps the README true: every TypeScript snippet in it must stand, line for line, in a file under
 * examples/ (which specs run), and the commands it names must exist in package.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Examples import the sources (`'../src'`); the README shows what users write (`'webtool'`). */
function asPackageImport(line: string): string {
  return line.replace(/from '\.\.\/src(?:\/(\w+))?(?:\/index)?';$/, (_, sub?: string) => `from 'webtool${sub ? `/${sub}` : ''}';`);
}

function normalise(code: string): string[] {
  return code
    .split('\n')
    .map((line) => asPackageImport(line.trim()))
    .filter((line) => line && line !== '// ...' && !line.startsWith('// README:'));
}

function examples(): { file: string; lines: string[] }[] {
  const dir = join(root, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((file) => ({ file, lines: normalise(readFileSync(join(dir, file), 'utf8')) }));
}

/** True when `needle` occurs in `hay` in order (other lines may stand between them). */
function containsInOrder(hay: string[], needle: string[]): boolean {
  let i = 0;
  for (const line of hay) if (line === needle[i] && ++i === needle.length) return true;
  return needle.length === 0;
}

describe('README', () => {
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('has TypeScript snippets to check', () => {
    expect(snippets.length).to.be.greaterThan(3);
  });

  snippets.forEach((snippet, n) => {
    const first = normalise(snippet)[0] ?? '';
    it(`snippet ${n + 1} (${first.slice(0, 50)}) stands in an example that CI runs`, () => {
      const lines = normalise(snippet);
      const home = examples().find((e) => containsInOrder(e.lines, lines));
      expect(home, `snippet ${n + 1} is not in any examples/*.ts file:\n${snippet}`).to.not.equal(undefined);
    });
  });

  it('names only npm scripts that exist', () => {
    for (const [, script] of readme.matchAll(/npm run ([\w:-]+)/g)) {
      expect(pkg.scripts, `npm run ${script}`).to.have.property(script);
    }
    expect(readme).to.contain('npm test');
    expect(readme).to.contain('npm start');
  });
});
