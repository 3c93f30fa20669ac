/** `npm run bench:readme`: writes bench/results/latest.json and instructions.json into the README. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spliceInstructions, spliceReadme, type BenchReport, type InstructionsReport } from './report';

const root = join(__dirname, '..');
const read = <T>(name: string) => JSON.parse(readFileSync(join(__dirname, 'results', name), 'utf8')) as T;
const file = join(root, 'README.md');
const readme = spliceReadme(readFileSync(file, 'utf8'), read<BenchReport>('latest.json'));
writeFileSync(file, spliceInstructions(readme, read<InstructionsReport>('instructions.json')));
console.log('README performance figures updated from bench/results/latest.json and instructions.json');
