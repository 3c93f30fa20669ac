/**
 * The load generator, in its own process: `load.ts <json options>`, prints autocannon's result as JSON.
 * Options: url, connections, durationS, headers, rate (overall requests/s, for the paced run), and
 * tokensFile (one token per line) used in one of two ways:
 * - in order from `tokenOffset`, each token once (a "fresh token" run: `tokensExhausted` tells if the
 *   file ran out and tokens were reused — the harness then reports the run as invalid);
 * - `zipf: s`: each request draws a token by Zipf(s) rank (a realistic mix of users).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  tokensFile?: string;
  tokenOffset?: number;
  zipf?: number;
  rate?: number;
}

const options = JSON.parse(process.argv[2]) as LoadOptions;
const tokens = options.tokensFile ? readFileSync(options.tokensFile, 'utf8').split('\n').filter(Boolean) : [];
let next = options.tokenOffset ?? 0;
let exhausted = false;

// Zipf(s) over ranks 1..n by inverse transform on the cumulative weights (built once).
const cumulative: number[] = [];
if (options.zipf && tokens.length) {
  let sum = 0;
  for (let rank = 1; rank <= tokens.length; rank++) cumulative.push((sum += 1 / rank ** options.zipf));
}
function zipfToken(): string {
  const target = Math.random() * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return tokens[lo];
}
function nextToken(): string {
  if (cumulative.length) return zipfToken();
  if (next >= tokens.length) exhausted = true;
  return tokens[next++ % tokens.length];
}

const instance = autocannon(
  {
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    headers: options.headers,
    overallRate: options.rate,
    requests: tokens.length
      ? [
          {
            setupRequest: (req: autocannon.Request) => ({
              ...req,
              headers: { ...(req.headers ?? {}), authorization: `Bearer ${nextToken()}` },
            }),
          },
        ]
      : undefined,
  },
  (err: Error | null, result: autocannon.Result) => {
    if (err) {
      console.error(err.message);
      process.exit(1);
    }
    process.stdout.write(
      `${JSON.stringify({
        rps: result.requests.average,
        total: result.requests.total,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        tokensUsed: Math.min(next - (options.tokenOffset ?? 0), tokens.length),
        tokensExhausted: exhausted,
      })}\n`,
    );
  },
);
process.on('SIGTERM', () => instance.stop());
