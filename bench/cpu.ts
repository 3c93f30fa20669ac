/**
 * Server CPU time from /proc: user + system time of the given processes, in microseconds. Read before
 * and after a measured run, it gives CPU per request — far steadier than req/s on a shared 2-core box.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pids`, summed, in µs (0 for a process that is gone). */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // The command name (field 2) may contain spaces: parse after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      /* exited */
    }
  }
  return (ticks * 1e6) / clockTicks();
}

/** utime + stime per thread of `pids` (thread id → its name and µs), to tell JS work from GC helpers and libuv's pool. */
export function threadMicros(pids: readonly number[]): Map<string, { name: string; us: number }> {
  const out = new Map<string, { name: string; us: number }>();
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}`, { name: tid === String(pid) ? 'main' : name, us: ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks() });
      } catch {
        /* exited */
      }
    }
  }
  return out;
}
