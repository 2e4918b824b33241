/**
 * Targets: a server (or a cluster of nodes) the bench drives, started here or already running.
 * Every target answers `GET /healthz`; Barrage nodes are started with limits raised for load
 * (publish rate and burst, connections per IP) and with a known API key and JWT secret.
 */
import { spawn } from 'node:child_process';
import type { TargetKind } from '../loadgen/dialects.js';
import {
  barrageCommand,
  freePort,
  nodeFlagsFor,
  peerCommand,
  type ServerProcess,
  spawnServer,
  stopChild,
  waitHealthy,
} from './spawn.js';

/** A running target. */
export interface Target {
  kind: TargetKind;
  /** Label in reports: "barrage", "ws-hub", "socketio", "barrage x3". */
  name: string;
  /** Base WebSocket URLs (ws://host:port), one per node. */
  wsUrls: string[];
  /** Base HTTP URL of the first node. */
  httpUrl: string;
  /** PIDs whose CPU and RSS count as the server's (empty when unknown). */
  pids: number[];
  apiKey: string | null;
  jwtSecret: string | null;
  /** Stops what this run started (nothing for an external target). */
  stop(): Promise<void>;
}

/** How to start a target. */
export interface TargetOptions {
  /** `taskset -c` list for server processes, or null. */
  serverCpus: string | null;
  /** Extra arguments for `barrage serve` (repeatable --serve-arg). */
  serveArgs: string[];
  /** Cluster: number of Barrage nodes (1 = single node). */
  nodes: number;
  /** Cluster: a Redis URL to use; null = spawn a redis-server on a free port. */
  redisUrl: string | null;
  startTimeoutMs: number;
  /** Node options for the Barrage servers (before the script), e.g. V8 heap flags. */
  nodeArgs?: string[];
}

/** Key and secret the bench gives the Barrage servers it starts. */
export const BENCH_API_KEY = 'bench-api-key-0123456789';
/** HS256 secret for bench JWTs (at least 32 bytes). */
export const BENCH_JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';

/** Arguments of `barrage serve` for one bench node. */
export function barrageServeArgs(
  port: number,
  extra: string[],
  cluster: { redisUrl: string; nodeId: string } | null,
): string[] {
  const args = [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--api-key',
    BENCH_API_KEY,
    '--jwt-secret',
    BENCH_JWT_SECRET,
    '--allow-anonymous-publish',
    '--store',
    'none',
    '--publish-rate',
    '100000',
    '--publish-burst',
    '100000',
    '--command-rate',
    '1000000',
    '--command-burst',
    '1000000',
    '--max-connections-per-ip',
    '1000000',
    // Every receiver comes from a few loopback addresses: no per-address join pacing either.
    '--join-rate-per-ip',
    '1000000',
    '--join-burst-per-ip',
    '10000000',
    // The load generator opens its connections as fast as it can: no reconnect-storm pacing.
    '--admission-rate',
    '10000000',
    '--admission-burst',
    '10000000',
    '--log-level',
    'warn',
  ];
  if (cluster) args.push('--redis-url', cluster.redisUrl, '--node-id', cluster.nodeId);
  return [...args, ...extra];
}

async function startRedis(cpus: string | null): Promise<{ url: string; proc: ServerProcess }> {
  const port = await freePort();
  const argv = [
    'redis-server',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const proc = spawnServer(argv, port, cpus);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`redis-server exited: ${proc.output()}`);
    if (proc.output().includes('Ready to accept connections'))
      return { url: `redis://127.0.0.1:${port}`, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error('redis-server did not start in 10 s');
}

/** Starts a target of `kind` (a Barrage cluster when kind is barrage and nodes > 1). */
export async function startTarget(kind: TargetKind, opts: TargetOptions): Promise<Target> {
  const procs: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    if (kind !== 'barrage' && kind !== 'barrage-sse') {
      const port = await freePort();
      const proc = spawnServer(
        [...peerCommand(kind, nodeFlagsFor(opts.serverCpus)), '--port', String(port)],
        port,
        opts.serverCpus,
      );
      procs.push(proc);
      await waitHealthy(`http://127.0.0.1:${port}/healthz`, proc, opts.startTimeoutMs);
      return target(kind, kind, [port], procs, stop, null, null);
    }
    let redis: { url: string; proc: ServerProcess } | null = null;
    if (opts.nodes > 1 && opts.redisUrl === null) {
      redis = await startRedis(opts.serverCpus);
      procs.push(redis.proc);
    }
    const redisUrl = opts.redisUrl ?? redis?.url ?? null;
    const ports: number[] = [];
    for (let i = 0; i < opts.nodes; i++) {
      const port = await freePort();
      const cluster = opts.nodes > 1 && redisUrl ? { redisUrl, nodeId: `bench-${i + 1}` } : null;
      const argv = [
        ...barrageCommand([...nodeFlagsFor(opts.serverCpus), ...(opts.nodeArgs ?? [])]),
        ...barrageServeArgs(port, opts.serveArgs, cluster),
      ];
      const proc = spawnServer(argv, port, opts.serverCpus);
      procs.push(proc);
      ports.push(port);
      await waitHealthy(`http://127.0.0.1:${port}/healthz`, proc, opts.startTimeoutMs);
    }
    const name = opts.nodes > 1 ? `${kind} x${opts.nodes}` : kind;
    return target(kind, name, ports, procs, stop, BENCH_API_KEY, BENCH_JWT_SECRET);
  } catch (err) {
    await stop();
    throw err;
  }
}

function target(
  kind: TargetKind,
  name: string,
  ports: number[],
  procs: ServerProcess[],
  stop: () => Promise<void>,
  apiKey: string | null,
  jwtSecret: string | null,
): Target {
  return {
    kind,
    name,
    wsUrls: ports.map((p) => `ws://127.0.0.1:${p}`),
    httpUrl: `http://127.0.0.1:${ports[0]}`,
    pids: procs.map((p) => p.pid),
    apiKey,
    jwtSecret,
    stop,
  };
}

/** A target that is already running at `url` (http://host:port); CPU/RSS need its PIDs. */
export async function externalTarget(
  kind: TargetKind,
  url: string,
  pids: number[],
  apiKey: string | null,
  jwtSecret: string | null,
): Promise<Target> {
  const httpUrl = url.replace(/^ws/, 'http').replace(/\/+$/, '').replace(/\/ws$/, '');
  await waitHealthy(`${httpUrl}/healthz`, null, 5000);
  return {
    kind,
    name: kind,
    wsUrls: [httpUrl.replace(/^http/, 'ws')],
    httpUrl,
    pids,
    apiKey,
    jwtSecret,
    stop: async () => {},
  };
}

/** Asks the kernel to raise the open-file limit of a process (best effort, via prlimit). */
export function raiseFdLimit(pid: number, want: number): Promise<boolean> {
  return new Promise((res) => {
    const child = spawn('prlimit', ['--pid', String(pid), `--nofile=${want}:${want}`], {
      stdio: 'ignore',
    });
    child.on('error', () => res(false));
    child.on('exit', (code) => res(code === 0));
    setTimeout(() => {
      void stopChild(child, 100);
      res(false);
    }, 3000).unref();
  });
}
