/** `npm run bench:readme`: writes the figures of bench/results/latest.json into the README. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spliceReadme, type BenchReport } from './report';

const root = join(__dirname, '..');
const report = JSON.parse(readFileSync(join(__dirname, 'results', 'latest.json'), 'utf8')) as BenchReport;
const file = join(root, 'README.md');
writeFileSync(file, spliceReadme(readFileSync(file, 'utf8'), report));
console.log('README performance figures updated from bench/results/latest.json');
