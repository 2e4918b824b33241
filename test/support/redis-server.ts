/**
 * Real redis-server processes for tests: one standalone server or a small Cluster of masters,
 * each on free loopback ports, with persistence off (`--save '' --appendonly no`), killed by PID.
 * Nothing here is mocked: tests talk to the processes over TCP.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tracked } from './children.js';

/** A standalone redis-server the test owns. */
export interface RedisProcess {
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** PID of the running process (undefined while killed). */
  readonly pid: number | undefined;
  /** Kills the process (SIGKILL) and waits for it to exit; the port stays reserved for restart. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port, empty (nothing is persisted). A cluster node forgets its
   * cluster config too, unless `keepClusterConfig` (then it rejoins its cluster, as a replica of
   * whoever took its slots over).
   */
  restart(options?: { keepClusterConfig?: boolean }): Promise<void>;
  /** Kills it for good and removes its temp dir. */
  stop(): Promise<void>;
}

/** A Redis Cluster the test owns. */
export interface RedisClusterProcess {
  /** Master ports as created, in creation order (replicas not included). */
  ports: number[];
  /** `127.0.0.1:PORT` seed addresses (the masters as created) for a cluster client. */
  nodes: string[];
  /** Every node's process, masters first, then replicas, as created. */
  servers: RedisProcess[];
  /** Kills every node and removes the temp dir. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and resolves with the raw reply text (enough for PING and INFO). */
export async function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port}: no reply to ${command}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      // A simple string, an error, an integer, or a complete bulk string.
      const bulk = /^\$(\d+)\r\n/.exec(text);
      const done = bulk
        ? text.length >= bulk[0].length + Number(bulk[1]) + 2
        : text.endsWith('\r\n');
      if (done) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Polls `check` every 50 ms until it returns true, for at most `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Children still running, killed if the test process exits without stopping them. */
function spawnRedis(args: string[], cwd: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return tracked(child);
}

async function killChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await exited;
}

/** A redis-server that exited before it answered: most likely its port was taken meanwhile. */
class ExitedEarly extends Error {}

/**
 * Spawns redis-server and waits until it answers on `port` *as itself* (INFO's process_id is the
 * child's pid), so a port grabbed by another test's server in the meantime is never mistaken for
 * ours. Rejects with ExitedEarly when the child dies first (e.g. the port was taken).
 */
async function launchOn(
  args: string[],
  dir: string,
  port: number,
  timeoutMs = 15_000,
): Promise<ChildProcess> {
  const child = spawnRedis(args, dir);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new ExitedEarly(`redis-server on ${port} exited`);
    const info = await rawCommand(port, 'INFO server', 500).catch(() => '');
    if (info.includes(`process_id:${child.pid}\r\n`)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  await killChild(child);
  throw new Error(`timed out waiting for redis-server on ${port}`);
}

/**
 * Starts a standalone redis-server on a free port and waits until it answers. Free ports are only
 * free "a moment ago", and test files run in parallel: a start that loses its port to another
 * process is retried on new ports.
 */
export async function startRedis(
  options: { cluster?: boolean; args?: string[] } = {},
): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-redis-'));
  let port = 0;
  let args: string[] = [];
  let child: ChildProcess | null = null;
  for (let attempt = 0; child === null; attempt++) {
    port = await freePort();
    args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
    if (options.cluster) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'));
      args.push('--cluster-port', String(await freePort()));
    }
    args.push(...(options.args ?? []));
    try {
      child = await launchOn(args, dir, port);
    } catch (err) {
      if (!(err instanceof ExitedEarly) || attempt >= 4) throw err;
    }
  }
  const kill = async () => {
    await killChild(child);
    child = null;
  };
  return {
    port,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return (child as ChildProcess | null)?.pid;
    },
    kill,
    async restart(restartOptions = {}) {
      await kill();
      if (!restartOptions.keepClusterConfig) rmSync(join(dir, 'nodes.conf'), { force: true });
      // The same port: a test restarts "the same Redis". Retried briefly if the OS still holds it.
      for (let attempt = 0; child === null; attempt++) {
        try {
          child = await launchOn(args, dir, port);
        } catch (err) {
          if (!(err instanceof ExitedEarly) || attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** How a test Cluster is shaped. */
export interface RedisClusterOptions {
  /** Replicas per master. @default 0 */
  replicas?: number;
  /** `cluster-node-timeout`, ms: how soon a dead master is failed over. Redis' default if unset. */
  nodeTimeoutMs?: number;
}

/**
 * Starts `count` cluster-enabled masters (and `replicas` per master) on free ports, each with its
 * own config file in a temp dir, joins them with `redis-cli --cluster create --cluster-yes`, and
 * waits until every node reports `cluster_state:ok` (and every replica's link to its master is up).
 */
export async function startRedisCluster(
  count = 3,
  options: RedisClusterOptions = {},
): Promise<RedisClusterProcess> {
  const replicas = options.replicas ?? 0;
  const args: string[] = [];
  if (options.nodeTimeoutMs !== undefined) {
    // A replica may fail over however long it was cut off: tests kill masters in a row.
    args.push('--cluster-node-timeout', String(options.nodeTimeoutMs));
    args.push('--cluster-replica-validity-factor', '0');
  }
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < count * (1 + replicas); i++) {
      nodes.push(await startRedis({ cluster: true, args }));
    }
    const addresses = nodes.map((n) => `${HOST}:${n.port}`);
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (created.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    }
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on ${node.port}`, async () =>
        (await rawCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok'),
      );
    }
    for (const node of nodes.slice(count)) {
      await waitFor(`replica ${node.port} in sync`, async () =>
        (await rawCommand(node.port, 'INFO replication')).includes('master_link_status:up'),
      );
    }
    const masters = nodes.slice(0, count);
    return {
      ports: masters.map((n) => n.port),
      nodes: addresses.slice(0, count),
      servers: nodes,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A Redis Sentinel the test owns. */
export interface SentinelProcess {
  port: number;
  /** `127.0.0.1:PORT`, for `sentinels`. */
  address: string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server sentinel.conf --sentinel` on a free port, monitoring the primary on
 * `primaryPort` as `name` with quorum `quorum` and a short `down-after-milliseconds`, so a killed
 * primary is failed over within seconds.
 */
export async function startSentinel(
  primaryPort: number,
  name: string,
  options: { quorum?: number; downAfterMs?: number } = {},
): Promise<SentinelProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-sentinel-'));
  let child: ChildProcess | null = null;
  let port = 0;
  for (let attempt = 0; child === null; attempt++) {
    port = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${primaryPort} ${options.quorum ?? 2}`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 500}`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    try {
      child = await launchOn([conf, '--sentinel'], dir, port);
    } catch (err) {
      if (!(err instanceof ExitedEarly) || attempt >= 4) throw err;
    }
  }
  return {
    port,
    address: `${HOST}:${port}`,
    async stop() {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
