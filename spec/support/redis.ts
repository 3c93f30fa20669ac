/**
 * @module Redis for the specs: REDIS_URL, else 127.0.0.1:6379, else a private redis-server.
 * Never skips: when no Redis can be had the spec fails with a clear message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import Redis from 'ioredis';

let resolved: Promise<string> | undefined;
const privateServers = new Set<PrivateRedis>();

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server this process started; `kill()` simulates an outage, `restart()` brings it back on the same port. */
export class PrivateRedis {
  private proc?: ChildProcess;
  /** @param extraArgs more redis-server arguments (e.g. cluster mode) */
  constructor(readonly port: number, private readonly extraArgs: string[] = []) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extraArgs], {
      stdio: 'ignore',
    });
    this.proc = proc;
    privateServers.add(this);
    await new Promise<void>((resolve, reject) => {
      proc.once('error', (err) => reject(new Error(`could not start redis-server (is it installed?): ${err.message}`)));
      proc.once('spawn', () => resolve());
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (await answers(this.url)) return this;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not answer within 5 s`);
  }

  /** SIGKILL: the data is gone and clients see a dead socket. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  async restart(): Promise<this> {
    await this.kill();
    return this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    privateServers.delete(this);
  }
}

/** Starts a private redis-server on a free port (for outage tests or when no shared Redis answers). */
export async function startPrivateRedis(port?: number): Promise<PrivateRedis> {
  return new PrivateRedis(port ?? (await freePort())).start();
}

async function resolveUrl(): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    if (await answers(fromEnv)) return fromEnv;
    throw new Error(`REDIS_URL=${fromEnv.replace(/\/\/[^@]*@/, '//***@')} does not answer PING; start Redis or unset REDIS_URL`);
  }
  if (await answers('redis://127.0.0.1:6379')) return 'redis://127.0.0.1:6379';
  try {
    return (await startPrivateRedis()).url;
  } catch (err) {
    throw new Error(`No Redis for the specs: REDIS_URL unset, 127.0.0.1:6379 silent, and ${(err as Error).message}`);
  }
}

/** The URL of the Redis the specs share (resolved once per run). */
export function redisUrl(): Promise<string> {
  resolved ??= resolveUrl();
  return resolved;
}

/** A key prefix no other spec (or run) uses, so specs never see each other's data. */
export function uniquePrefix(name: string): string {
  return `wtspec:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (best effort, for after hooks). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await client.del(...keys);
  } while (cursor !== '0');
}

/** Stops every private server; called by the root hook. */
export async function stopPrivateServers(): Promise<void> {
  await Promise.all([...privateServers].map((s) => s.stop()));
}
