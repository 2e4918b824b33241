/**
 * Starts the servers under test as child processes (so their CPU and RSS are measurable), pinned
 * with `taskset -c` when asked, and stops them by PID. Barrage runs from the built CLI
 * (dist/src/cli/index.js serve); the peers from dist/bench/peers/*.js (or their .ts under tsx),
 * the C peer from its build in a cache directory (c-peer.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ONE_CPU_GC_FLAG } from '../../src/cli/gc-hint.js';
import type { TargetKind } from '../loadgen/dialects.js';
import { buildCPeer } from './c-peer.js';

/** A running server process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Last lines of its stderr and stdout (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Server processes started by this process and not yet exited. */
const live = new Set<ChildProcess>();

/** SIGKILLs every server this process started that is still running (synchronous). */
export function killAllServers(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

// A bench that exits for any reason must not leave servers behind.
process.once('exit', killAllServers);
/** True when this code runs from TypeScript sources (tsx) rather than dist/. */
export const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');

/** The repository root (the folder that holds package.json and dist/). */
export function repoRoot(): string {
  // bench/servers (source) or dist/bench/servers (built)
  return fromSource ? resolve(here, '..', '..') : resolve(here, '..', '..', '..');
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  // Below the ephemeral range: thousands of client connections take ephemeral ports, and one
  // of them could grab the port between this check and the server's own listen.
  const low = ephemeralLow();
  const base = Math.max(1024, Math.min(20_000, low - 4000));
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = base + Math.floor(Math.random() * Math.max(1, low - base));
    if (await canListen(port)) return port;
  }
  return listenPort(0);
}

function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isFinite(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return listenPort(port).then(
    () => true,
    () => false,
  );
}

function listenPort(port: number): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(bound));
    });
  });
}

/**
 * Node's flags for a server pinned to `cpus`: on one CPU, V8's garbage collector on the main
 * thread (src/cli/gc-hint.ts says why). Barrage and the Node peers get the same flags.
 */
export function nodeFlagsFor(cpus: string | null): string[] {
  return cpus !== null && /^\d+$/.test(cpus.trim()) ? [ONE_CPU_GC_FLAG] : [];
}

/** The command (argv) that runs a peer server script, with `nodeArgs` for Node itself. */
export function peerCommand(
  kind: Exclude<TargetKind, 'barrage' | 'barrage-sse'>,
  nodeArgs: readonly string[] = [],
): string[] {
  if (kind === 'c-epoll') {
    const built = buildCPeer();
    if (!built.ok) throw new Error(`c-epoll peer unavailable: ${built.reason}`);
    return [built.path];
  }
  const name = kind === 'ws-hub' ? 'ws-hub-server' : 'socketio-server';
  const peersDir = resolve(here, '..', 'peers');
  if (fromSource)
    return [process.execPath, ...nodeArgs, '--import', 'tsx', join(peersDir, `${name}.ts`)];
  return [process.execPath, ...nodeArgs, join(peersDir, `${name}.js`)];
}

/** The command (argv) that runs the Barrage CLI, with `nodeArgs` for Node itself. */
export function barrageCommand(nodeArgs: readonly string[] = []): string[] {
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(cli)) throw new Error(`Barrage CLI not built: ${cli} (run npm run build)`);
  return [process.execPath, ...nodeArgs, cli];
}

/**
 * Spawns `argv`, pinned to `cpus` (a taskset list such as "0" or "0-1") when given, as the user
 * `as` when given (PostgreSQL refuses to run as root).
 */
export function spawnServer(
  argv: string[],
  port: number,
  cpus: string | null,
  as?: { uid: number; gid: number },
): ServerProcess {
  const full = cpus ? ['taskset', '-c', cpus, ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
    ...as,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(chunk.toString());
    if (tail.length > 20) tail.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(String(err))));
  return {
    child,
    // taskset execs the command, so the PID is the server's own.
    pid: child.pid ?? 0,
    port,
    output: () => tail.join('').slice(-2000),
    stop: (graceMs = 3000) => stopChild(child, graceMs),
  };
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitHealthy(
  url: string,
  proc: ServerProcess | null,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(
        `server exited (${proc.child.exitCode ?? proc.child.signalCode}): ${proc.output()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `server not healthy at ${url} after ${timeoutMs} ms (${last}) ${proc?.output() ?? ''}`,
  );
}
