/**
 * @module A private redis-server that keeps its data across a SIGKILL (append-only file, fsync on
 * every write), for the "Redis restarted with its data" outage case. A plain `PrivateRedis` is the
 * "restarted empty" case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, PrivateRedis } from './redis';

export class DurableRedis extends PrivateRedis {
  constructor(port: number, private readonly dir = mkdtempSync(join(tmpdir(), 'wt-redis-'))) {
    // Later arguments override the defaults' `--appendonly no`.
    super(port, ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always']);
  }

  /** Kills the server and deletes its data directory. */
  override async stop(): Promise<void> {
    await super.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A durable private redis-server on a free port, started. */
export async function startDurableRedis(): Promise<DurableRedis> {
  return new DurableRedis(await freePort()).start();
}
