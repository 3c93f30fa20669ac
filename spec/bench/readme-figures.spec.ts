/** @module Keeps the README's performance figures true: they are the latest bench artifact, rendered. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { README_BEGIN, README_END, renderMarkdown, type BenchReport } from '../../bench/report';

const root = join(__dirname, '..', '..');

describe('README performance figures', () => {
  it('are exactly bench/results/latest.json rendered (run npm run bench:readme after npm run bench)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const report = JSON.parse(readFileSync(join(root, 'bench', 'results', 'latest.json'), 'utf8')) as BenchReport;
    const begin = readme.indexOf(README_BEGIN);
    const end = readme.indexOf(README_END);
    expect(begin, 'bench markers in README').to.be.greaterThan(-1);
    expect(readme.slice(begin + README_BEGIN.length, end).trim()).to.equal(renderMarkdown(report).trim());
  });

  it('come from a fresh-token run that never hit the verified-token cache', () => {
    const report = JSON.parse(readFileSync(join(root, 'bench', 'results', 'latest.json'), 'utf8')) as BenchReport;
    const fresh = report.rows.find((r) => r.name === 'webtool-user-redis-fresh')!;
    expect(fresh.verifiedCacheHitRate).to.equal(0);
    expect(fresh.tokensExhausted).to.equal(false);
  });
});
