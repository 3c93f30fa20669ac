/**
 * Renders a bench artifact (bench/results/latest.json) as Markdown: the table for latest.md and the
 * README's Performance figures. The README block is generated, never typed: `npm run bench:readme`
 * writes it and spec/bench/readme-figures.spec.ts checks that it matches the artifact.
 */

export interface VariantRow {
  name: string;
  variant: string;
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  rps: number;
  cpuUsPerRequest: number;
  extraCpuUs: number;
  extraCpuUsMin: number;
  extraCpuUsMax: number;
  /** Extra CPU of each round, in round order (every variant runs once per round, so rounds pair up). */
  extraCpuUsRounds?: number[];
  p99Ms: number;
  redisCommandsPerRequest: number | null;
  /** Redis' own CPU (user + system) per request over the measured run, median over rounds. */
  redisCpuUsPerRequest?: number | null;
  /** Socket reads Redis processed per request (`total_reads_processed`): below 1 when clients batch commands. */
  redisReadsPerRequest?: number | null;
  failedRequests: number;
  verifiedCacheHitRate: number | null;
  tokensExhausted: boolean | null;
}

export interface BenchReport {
  machine: { cpu: string; cores: number; memoryGiB: number; date: string };
  versions: Record<string, string>;
  method: { rounds: number; durationS: number; connections: number; pacedRounds: number; pacedRate: number; loadGenerator: string };
  rows: VariantRow[];
  pacedP99Ms: Record<string, { median: number; min: number; max: number }>;
  redisBytesPerIdentityRule: Record<string, number>;
  tokenOps: Record<string, number>;
  db: {
    overhead: {
      medianRatio: number;
      minRatio: number;
      maxRatio: number;
      rawRps: number;
      scopedRps: number;
      /** Kysely's own transaction on a plain pg pool: what a Kysely user writes without webtool. */
      kyselyRps?: number;
      kyselyRatio?: number;
      scopedToKyselyRatio?: number;
    };
    npmStart: { wallS: number; cpuS: number };
  };
  elapsedS: number;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;

function row(report: BenchReport, name: string): VariantRow {
  const found = report.rows.find((r) => r.name === name);
  if (!found) throw new Error(`bench artifact has no variant ${name}`);
  return found;
}

/** A target's verdict: `undecided` when the rounds of one run disagree (the difference is within the noise). */
export type Verdict = 'yes' | 'no' | 'undecided';

/**
 * How many rounds a CPU comparison between two variants holds in, paired by round (each round measures
 * both against the same bare run). A median alone flips between runs on a noisy machine.
 */
function roundsHolding(a: VariantRow, b: VariantRow, holds: (a: number, b: number) => boolean): { k: number; n: number } | undefined {
  const [x, y] = [a.extraCpuUsRounds, b.extraCpuUsRounds];
  if (!x || !y || x.length !== y.length || x.length === 0) return undefined;
  return { k: x.filter((v, i) => holds(v, y[i])).length, n: x.length };
}

/** yes when every round holds, no when none does, else undecided; the median decides for an artifact without rounds. */
function cpuVerdict(a: VariantRow, b: VariantRow, holds: (a: number, b: number) => boolean): { verdict: Verdict; rounds: string } {
  const count = roundsHolding(a, b, holds);
  if (!count) return { verdict: holds(a.extraCpuUs, b.extraCpuUs) ? 'yes' : 'no', rounds: '' };
  const verdict: Verdict = count.k === count.n ? 'yes' : count.k === 0 ? 'no' : 'undecided';
  return { verdict, rounds: `; holds in ${count.k} of ${count.n} rounds` };
}

const verdictOf = (met: boolean): Verdict => (met ? 'yes' : 'no');

/** The targets of the performance issue, checked against this run. */
export function targets(report: BenchReport): { target: string; measured: string; verdict: Verdict }[] {
  const r = (name: string) => row(report, name);
  const memory = cpuVerdict(r('webtool-user-memory'), r('rlf-memory'), (a, b) => a <= b);
  const log = cpuVerdict(r('webtool-user-redis-log'), r('webtool-user-redis'), (a, b) => a - b <= 10);
  const reused = cpuVerdict(r('webtool-user-redis'), r('jose-cached-evalsha'), (a, b) => a - b <= 5);
  const fresh = cpuVerdict(r('webtool-user-redis-fresh'), r('jose-rlf-redis'), (a, b) => a <= b);
  const limited = report.rows.filter((x) => x.name.startsWith('webtool-') && x.name !== 'webtool-unlimited-redis' && x.redisCommandsPerRequest !== null);
  return [
    {
      target: 'InMemoryCache path: extra CPU per request ≤ rate-limiter-flexible memory’s',
      measured: `${signed(r('webtool-user-memory').extraCpuUs)} µs vs ${signed(r('rlf-memory').extraCpuUs)} µs${memory.rounds}`,
      verdict: memory.verdict,
    },
    {
      target: 'sliding log on Redis within 10 µs of gcra',
      measured: `${signed(r('webtool-user-redis-log').extraCpuUs)} µs vs ${signed(r('webtool-user-redis').extraCpuUs)} µs${log.rounds}`,
      verdict: log.verdict,
    },
    {
      target: 'user + limit on Redis, token reused: within 5 µs of jose (cached) + one EVALSHA',
      measured: `${signed(r('webtool-user-redis').extraCpuUs)} µs vs ${signed(r('jose-cached-evalsha').extraCpuUs)} µs${reused.rounds}; ratio ${r('webtool-user-redis').ratio.toFixed(2)} vs ${r('jose-cached-evalsha').ratio.toFixed(2)}`,
      verdict: reused.verdict,
    },
    {
      target: 'fresh token per request: CPU no more than jose + rate-limiter-flexible',
      measured: `${signed(r('webtool-user-redis-fresh').extraCpuUs)} µs vs ${signed(r('jose-rlf-redis').extraCpuUs)} µs${fresh.rounds}; verified-cache hit rate ${r('webtool-user-redis-fresh').verifiedCacheHitRate}`,
      verdict: r('webtool-user-redis-fresh').verifiedCacheHitRate === 0 ? fresh.verdict : 'no',
    },
    {
      target: '1 Redis command per limited request for any number of rules, 0 for authentication',
      measured: `${[...new Set(limited.map((x) => x.redisCommandsPerRequest))].join(', ')} per limited request (3 rules: ${r('webtool-user-redis-3rules').redisCommandsPerRequest}); unlimited route: ${r('webtool-unlimited-redis').redisCommandsPerRequest}`,
      verdict: verdictOf(limited.every((x) => x.redisCommandsPerRequest === 1) && r('webtool-unlimited-redis').redisCommandsPerRequest === 0),
    },
    {
      target: 'a request in a scoped transaction through Kysely ≥ 0.9 × raw pg (connect/BEGIN/SELECT/COMMIT) on the same route',
      measured:
        `${report.db.overhead.medianRatio.toFixed(2)} (${report.db.overhead.minRatio.toFixed(2)} … ${report.db.overhead.maxRatio.toFixed(2)})` +
        (report.db.overhead.kyselyRatio === undefined ? '' : `; Kysely's own transaction, without webtool: ${report.db.overhead.kyselyRatio.toFixed(2)}`),
      verdict: verdictOf(report.db.overhead.medianRatio >= 0.9),
    },
    {
      target: '`npm start` on PGlite answers its first DB request in under 10 s',
      measured: `${report.db.npmStart.wallS} s wall, ${report.db.npmStart.cpuS} s CPU`,
      verdict: verdictOf(report.db.npmStart.wallS < 10),
    },
  ];
}

/** The whole report as Markdown (latest.md and the README block). */
export function renderMarkdown(report: BenchReport): string {
  const { machine, method, versions } = report;
  const paced = Object.entries(report.pacedP99Ms);
  const bareP99 = report.pacedP99Ms.bare?.median ?? 0;
  return [
    `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${versions.node}, Redis ${versions.redis}; ` +
      `${method.rounds} interleaved rounds × ${method.durationS} s (bare first, the rest in random order), ${method.connections} connections, ` +
      `${method.loadGenerator}; medians, with the spread over rounds. Server CPU is user + system time of the server process(es) per request; ` +
      '“extra” is above bare Express in the same round.',
    '',
    '| variant | extra server CPU µs / request (spread) | ratio to bare (spread) | req/s | p99 ms | Redis commands / request | Redis CPU µs / request | Redis socket reads / request | failed |',
    '|---|---|---|---|---|---|---|---|---|',
    ...report.rows.map(
      (r) =>
        `| ${r.variant} | ${r.name === 'bare' ? `${r.cpuUsPerRequest.toFixed(1)} (absolute)` : `${signed(r.extraCpuUs)} (${signed(r.extraCpuUsMin)} … ${signed(r.extraCpuUsMax)})`} | ` +
        `${r.ratio.toFixed(2)} (${r.ratioMin.toFixed(2)} … ${r.ratioMax.toFixed(2)}) | ${fmt(r.rps)} | ${r.p99Ms} | ${r.redisCommandsPerRequest ?? '–'} | ${r.redisCpuUsPerRequest?.toFixed(1) ?? '–'} | ${r.redisReadsPerRequest?.toFixed(3) ?? '–'} | ${r.failedRequests} |`,
    ),
    '',
    `Verified-token cache hit rate: fresh tokens ${row(report, 'webtool-user-redis-fresh').verifiedCacheHitRate} ` +
      `(every token new to the server${row(report, 'webtool-user-redis-fresh').tokensExhausted ? '; TOKENS RAN OUT — run invalid' : ''}); ` +
      `10,000 users drawn Zipf(1.1) ${row(report, 'webtool-user-redis-zipf').verifiedCacheHitRate}.`,
    '',
    `Paced at ${fmt(method.pacedRate)} req/s, ${method.pacedRounds} interleaved rounds in random order, p99 median (min … max), and above bare: ` +
      paced.map(([k, v]) => `${k} ${v.median} ms (${v.min} … ${v.max})${k === 'bare' ? '' : ` ${signed(v.median - bareP99)} ms`}`).join('; ') + '.',
    '',
    `Redis memory per (identity, rule) at 10,000 identities (\`used_memory\` growth): ${Object.entries(report.redisBytesPerIdentityRule).map(([k, v]) => `${k} ${fmt(v)} B`).join('; ')}.`,
    '',
    `Token service on Redis at concurrency 50, counting only operations that did their work: ${Object.entries(report.tokenOps).map(([k, v]) => `${k} ${fmt(v)}`).join('; ')}.`,
    '',
    `DB (PostgreSQL 15 on loopback, 10 connections): raw pg ${fmt(report.db.overhead.rawRps)} req/s, scoped transaction through Kysely ${fmt(report.db.overhead.scopedRps)} req/s` +
      (report.db.overhead.kyselyRps === undefined
        ? '. '
        : `, Kysely's own transaction on a plain pg pool ${fmt(report.db.overhead.kyselyRps)} req/s (scoped / Kysely alone: ${report.db.overhead.scopedToKyselyRatio!.toFixed(2)}). `) +
      `\`npm start\` on PGlite: first DB answer after ${report.db.npmStart.wallS} s (${report.db.npmStart.cpuS} s CPU, ts-node compile included).`,
    '',
    '| target | this run | met |',
    '|---|---|---|',
    ...targets(report).map((t) => `| ${t.target} | ${t.measured} | ${t.verdict === 'no' ? '**no**' : t.verdict} |`),
  ].join('\n');
}

export const README_BEGIN = '<!-- bench:begin (generated by npm run bench:readme from bench/results/latest.json) -->';
export const README_END = '<!-- bench:end -->';

/** `readme` with the block between the markers replaced by the rendered artifact. */
export function spliceReadme(readme: string, report: BenchReport): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error('README has no bench markers');
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${renderMarkdown(report)}\n${readme.slice(end)}`;
}

/** The variants `instructions.ts --save` counts, in the order the README shows them. */
export const SAVED_VARIANTS: readonly { name: string; label: string }[] = [
  { name: 'bare', label: 'bare Express' },
  { name: 'rlf-memory', label: 'rate-limiter-flexible (memory), by IP, no fields' },
  { name: 'erl-memory', label: 'express-rate-limit (memory), by IP, draft-8 fields' },
  { name: 'webtool-ip-memory-noheaders', label: 'webtool InMemoryCache, by IP, standardHeaders: false (as rate-limiter-flexible)' },
  { name: 'webtool-ip-memory', label: 'webtool InMemoryCache, by IP (default fields)' },
  { name: 'async-headers', label: 'floor: one await and the same three fields webtool sets (no limiting)' },
  { name: 'async-headers-auth', label: 'the same floor plus `req.auth` set (one property added to the request)' },
  { name: 'webtool-user-memory-noheaders', label: 'webtool user (token reused), InMemoryCache, standardHeaders: false' },
  { name: 'webtool-user-memory', label: 'webtool user (token reused), InMemoryCache (default)' },
  { name: 'jose-cached-evalsha', label: 'jose verify (cached) + `req.user` + one hand-written EVALSHA' },
  { name: 'webtool-user-redis', label: 'webtool user (token reused), Redis (default)' },
  { name: 'jose-fresh', label: 'jose verify (a new token each request) + `req.user`' },
  { name: 'wt-validate-fresh', label: 'JWTService.validateAccessToken (a new token each request) + `req.user`, no limiter' },
  { name: 'jose-fresh-rlf', label: 'jose verify (a new token each request) + `req.user` + rate-limiter-flexible (memory)' },
  { name: 'webtool-user-memory-fresh', label: 'webtool user (a new token each request), InMemoryCache (default)' },
];

/** bench/results/instructions.json. */
export interface InstructionsReport {
  date: string;
  cpu: string;
  node: string;
  valgrind: string;
  /** The two run lengths whose difference is divided by their difference in requests. */
  requests: [number, number];
  rows: { name: string; label: string; instructions: number }[];
}

export const INSTRUCTIONS_BEGIN = '<!-- instructions:begin (generated by npm run bench:readme from bench/results/instructions.json) -->';
export const INSTRUCTIONS_END = '<!-- instructions:end -->';

/** The instruction counts as a table, each above bare Express. */
export function renderInstructions(report: InstructionsReport): string {
  const bare = report.rows.find((r) => r.name === 'bare')!.instructions;
  const fmt = (n: number) => n.toLocaleString('en');
  return [
    `Counted ${report.date.slice(0, 10)} with ${report.valgrind} (callgrind) on ${report.cpu}, Node ${report.node}: one process per variant, ` +
      `requests dispatched in-process (real IncomingMessage/ServerResponse pairs, no sockets), instructions per request = ` +
      `(I(${fmt(report.requests[1])}) − I(${fmt(report.requests[0])})) / ${fmt(report.requests[1] - report.requests[0])}. ` +
      'Counts of the same code move a little between runs (JIT and GC timing): read small differences as none.',
    '',
    '| variant | instructions / request | above bare |',
    '|---|---|---|',
    ...report.rows.map((r) => `| ${r.label} | ${fmt(r.instructions)} | ${r.name === 'bare' ? '–' : `${r.instructions >= bare ? '+' : '−'}${fmt(Math.abs(r.instructions - bare))}`} |`),
  ].join('\n');
}

/** `readme` with the instructions block replaced by the rendered report. */
export function spliceInstructions(readme: string, report: InstructionsReport): string {
  const begin = readme.indexOf(INSTRUCTIONS_BEGIN);
  const end = readme.indexOf(INSTRUCTIONS_END);
  if (begin < 0 || end < begin) throw new Error('README has no instructions markers');
  return `${readme.slice(0, begin + INSTRUCTIONS_BEGIN.length)}\n${renderInstructions(report)}\n${readme.slice(end)}`;
}
