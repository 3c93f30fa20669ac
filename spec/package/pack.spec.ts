/**
 * @module What `npm pack` ships: the built code with its types and Lua scripts, LICENSE, README and
 * package.json — no sources, specs or source maps pointing at files that are not shipped — and the
 * metadata the registry page needs (repository, homepage, bugs) and every subpath typed under node10.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { build, root, run } from './fixture';

interface PackageJson {
  license: string;
  repository?: { url?: string };
  homepage?: string;
  bugs?: { url?: string };
  types: string;
  exports: Record<string, string | { types: string; default: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
  bin: Record<string, string>;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('npm pack', function () {
  this.timeout(120_000);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  let files: string[];

  before(async () => {
    await build();
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path).sort();
  });

  it('ships dist, LICENSE, README.md and package.json, nothing else', () => {
    const outside = files.filter((f) => !f.startsWith('dist/'));
    expect(outside).to.deep.equal(['LICENSE', 'README.md', 'package.json']);
  });

  it('ships no source maps, and no built file points to one', () => {
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      expect(readFileSync(join(root, file), 'utf8'), file).to.not.contain('sourceMappingURL');
    }
  });

  it('ships every Lua script next to its module', () => {
    const lua = walk(join(root, 'src')).filter((f) => f.endsWith('.lua')).map((f) => `dist/${relative(join(root, 'src'), f)}`);
    expect(lua.length).to.be.greaterThan(5);
    expect(files).to.include.members(lua);
  });

  it('ships the code and types of every export, the bin, and a typesVersions entry per subpath (node10)', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue; // ./package.json
      expect(files, subpath).to.include.members([target.types.slice(2), target.default.slice(2)]);
      if (subpath === '.') continue;
      expect(pkg.typesVersions?.['*']?.[subpath.slice(2)], `typesVersions for ${subpath}`).to.deep.equal([target.types.slice(2)]);
    }
    expect(files).to.include(pkg.types);
    expect(files).to.include.members(Object.values(pkg.bin));
  });

  it('declares MIT with a LICENSE file, and where the repository, home page and issues are', () => {
    expect(pkg.license).to.equal('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).to.match(/^MIT License/);
    expect(pkg.repository?.url).to.match(/^git\+https:\/\//);
    expect(pkg.homepage).to.match(/^https:\/\//);
    expect(pkg.bugs?.url).to.match(/^https:\/\//);
  });
});
