/**
 * Child process of attack-r7-leaks.spec.ts: an app on the RedisCache at argv[2] serves N requests,
 * optionally waits while Redis is silent, closes everything and prints "closed"; the parent measures
 * how long the process then takes to exit.
 */
import { inPool } from '../support/http-load';
import { jwtLimitedServer } from './attack-r7-helpers';

const [url, nArg, silentArg] = process.argv.slice(2);
const quiet = { warn: () => {} };

async function main(): Promise<void> {
  const app = await jwtLimitedServer(url, 'r7-exit:', quiet);
  await inPool(Array.from({ length: Number(nArg) }), 20, app.get);
  if (silentArg === 'silent') {
    process.stdout.write('pause-now\n');
    await new Promise<void>((r) => process.stdin.once('data', () => r()));
    process.stdin.destroy(); // the pipe itself must not keep this process alive
    // Requests while Redis is silent: their store calls time out (their timers are the suspects).
    await inPool(Array.from({ length: 50 }), 20, app.get);
  }
  await app.close();
  process.stdout.write('closed\n');
}

main().catch((err) => {
  process.stdout.write(`error ${String(err)}\n`);
  process.exitCode = 1;
});
