/**
 * @module A private Redis Cluster on free loopback ports, for the Cluster specs
 * (redis-server --cluster-enabled, joined with redis-cli --cluster create). With `replicas: 1`
 * each master has a replica and a short node timeout, so killing a master (by PID, SIGKILL)
 * promotes its replica within a few seconds.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, PrivateRedis } from './redis';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running cluster; `stop()` kills its nodes and removes their files. */
export interface PrivateCluster {
  nodes: { host: string; port: number }[];
  /** Ports of the nodes that are masters now (as a live node sees it). */
  masterPorts(): Promise<number[]>;
  /** SIGKILLs the redis-server on `port` (its child process, by PID) and waits until it has exited. */
  killNode(port: number): Promise<void>;
  /** Waits until every live node reports `cluster_state:ok` and `masters` masters serve slots. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options of `startPrivateCluster`. */
export interface PrivateClusterOptions {
  /** @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicas?: number;
  /** cluster-node-timeout: how long until a silent master is failed over. @default 1000 */
  nodeTimeoutMs?: number;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 5000 });
  return stdout;
}

export async function startPrivateCluster(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
  const { masters = 3, replicas = 0, nodeTimeoutMs = 1000 } = options;
  const dir = mkdtempSync(join(tmpdir(), 'webtool-cluster-'));
  const servers: PrivateRedis[] = [];
  const dead = new Set<number>();
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const live = () => servers.filter((s) => !dead.has(s.port));
  const masterPorts = async (): Promise<number[]> => {
    const out = await cli(live()[0].port, 'cluster', 'nodes');
    // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
    return out
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter((f) => f.length > 8 && f[2].split(',').includes('master') && !f[2].includes('fail'))
      .map((f) => Number(/:(\d+)@/.exec(f[1])![1]));
  };
  const waitHealthy = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(live().map((s) => cli(s.port, 'cluster', 'info').catch(() => '')));
      const replication = await Promise.all(live().map((s) => cli(s.port, 'info', 'replication').catch(() => '')));
      const synced = replication.every((out) => !out.includes('role:slave') || out.includes('master_link_status:up'));
      if (synced && states.every((out) => out.includes('cluster_state:ok')) && (await masterPorts()).length === masters) return;
      if (Date.now() > deadline) throw new Error('the private Redis Cluster did not become healthy');
      await sleep(100);
    }
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--cluster-node-timeout', String(nodeTimeoutMs),
        // replicas sync at once, and may take over however long ago they last heard from their master
        '--repl-diskless-sync-delay', '0', '--cluster-replica-validity-factor', '0'];
      servers.push(await new PrivateRedis(port, args).start());
    }
    await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 20_000 });
    await waitHealthy(15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    masterPorts,
    killNode: async (port) => {
      const server = servers.find((s) => s.port === port);
      if (!server) throw new Error(`no node on port ${port}`);
      dead.add(port);
      await server.kill(); // SIGKILL to its PID; resolves once the process has exited
    },
    waitHealthy,
    stop,
  };
}
