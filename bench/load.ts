/**
 * The load generator, in its own process: `load.ts <json options>`, prints autocannon's result as JSON.
 * Options: url, connections, durationS, headers, tokens (a file of one token per line: each request
 * takes the next one), rate (overall requests/s, for the paced run).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  tokensFile?: string;
  rate?: number;
}

const options = JSON.parse(process.argv[2]) as LoadOptions;
const tokens = options.tokensFile ? readFileSync(options.tokensFile, 'utf8').split('\n').filter(Boolean) : [];
let next = 0;

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
              headers: { ...(req.headers ?? {}), authorization: `Bearer ${tokens[next++ % tokens.length]}` },
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
        tokensUsed: Math.min(next, tokens.length),
      })}\n`,
    );
  },
);
process.on('SIGTERM', () => instance.stop());
