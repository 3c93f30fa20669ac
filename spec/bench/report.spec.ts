/** @module The bench report's target verdicts: a CPU comparison is judged round by round, not by one median. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { targets, type BenchReport } from '../../bench/report';

const latest = () => JSON.parse(readFileSync(join(__dirname, '..', '..', 'bench', 'results', 'latest.json'), 'utf8')) as BenchReport;

/** The latest artifact with the two variants' extra CPU set, per round (or without rounds). */
function withRounds(a: number[] | undefined, b: number[] | undefined, medians: [number, number] = [0, 0]): BenchReport {
  const report = latest();
  for (const [name, rounds, median] of [['webtool-user-memory', a, medians[0]], ['rlf-memory', b, medians[1]]] as const) {
    const row = report.rows.find((r) => r.name === name)!;
    row.extraCpuUsRounds = rounds ? [...rounds] : undefined;
    row.extraCpuUs = median;
  }
  return report;
}

const memoryTarget = (report: BenchReport) => targets(report).find((t) => t.target.startsWith('InMemoryCache path'))!;

describe('bench report: target verdicts', () => {
  it('is yes only when the target holds in every round, paired by round', () => {
    const t = memoryTarget(withRounds([10, 20, 30], [15, 20, 31]));
    expect(t.verdict).to.equal('yes');
    expect(t.measured).to.contain('holds in 3 of 3 rounds');
  });

  it('is no when it holds in no round', () => {
    expect(memoryTarget(withRounds([10, 20, 30], [9, 19, 29])).verdict).to.equal('no');
  });

  it('is undecided when the rounds disagree, whatever the medians say', () => {
    const t = memoryTarget(withRounds([10, 50, 30], [20, 40, 35], [30, 35]));
    expect(t.verdict).to.equal('undecided');
    expect(t.measured).to.contain('holds in 2 of 3 rounds');
  });

  it('falls back to the medians for an artifact without rounds', () => {
    expect(memoryTarget(withRounds(undefined, undefined, [5, 6])).verdict).to.equal('yes');
    expect(memoryTarget(withRounds(undefined, undefined, [7, 6])).verdict).to.equal('no');
  });
});
