/**
 * @module A private redis-server that keeps its data across a SIGKILL (append-only file, fsync on
 * every write), for the "Redis restarted with its data" outage case. `PrivateRedis` in redis.ts is
 * the "restarted empty" case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './redis';

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    // With AOF, Redis answers LOADING until the file is replayed.
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export class DurableRedis {
  private proc?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'wt-redis-'));
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts after `kill`) on the same port and data directory; resolves once it answers PING. */
  async start(): Promise<this> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('spawn', () => resolve());
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (await answers(this.url)) return this;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`durable redis-server on port ${this.port} did not answer within 5 s`);
  }

  /** SIGKILL: clients see a dead socket; what was fsynced survives. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  /** Kills the server and deletes its data directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A durable private redis-server on a free port, started. */
export async function startDurableRedis(): Promise<DurableRedis> {
  return new DurableRedis(await freePort()).start();
}
