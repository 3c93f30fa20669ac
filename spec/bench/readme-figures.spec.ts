/** @module Keeps the README's performance figures true: they are the latest bench artifacts, rendered. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { INSTRUCTIONS_BEGIN, INSTRUCTIONS_END, README_BEGIN, README_END, renderInstructions, renderMarkdown, type BenchReport, type InstructionsReport } from '../../bench/report';

const root = join(__dirname, '..', '..');
const artifact = <T>(name: string) => JSON.parse(readFileSync(join(root, 'bench', 'results', name), 'utf8')) as T;

/** The README text between two markers. */
function block(begin: string, end: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf(begin);
  expect(from, `${begin} in README`).to.be.greaterThan(-1);
  return readme.slice(from + begin.length, readme.indexOf(end)).trim();
}

describe('README performance figures', () => {
  it('are exactly bench/results/latest.json rendered (run npm run bench:readme after npm run bench)', () => {
    expect(block(README_BEGIN, README_END)).to.equal(renderMarkdown(artifact<BenchReport>('latest.json')).trim());
  });

  it('include the instruction counts of bench/results/instructions.json, rendered (npm run bench:instructions, then bench:readme)', () => {
    expect(block(INSTRUCTIONS_BEGIN, INSTRUCTIONS_END)).to.equal(renderInstructions(artifact<InstructionsReport>('instructions.json')).trim());
  });

  it('come from a fresh-token run that never hit the verified-token cache', () => {
    const fresh = artifact<BenchReport>('latest.json').rows.find((r) => r.name === 'webtool-user-redis-fresh')!;
    expect(fresh.verifiedCacheHitRate).to.equal(0);
    expect(fresh.tokensExhausted).to.equal(false);
  });
});
