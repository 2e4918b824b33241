/**
 * Barrage node processes for process-level tests: `node --import tsx src/cli/index.ts serve ...`
 * from the repository root, stdout parsed as pino JSON lines, every process (and any worker it
 * forked) tracked by PID so that `killAll` can end them all, even after a failed test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/index.ts'];

/** A parsed log line. */
export type LogEntry = Record<string, unknown> & { msg?: string };

/** One running `barrage` command. */
export interface BarrageProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Log lines seen on stdout so far. */
  readonly logs: LogEntry[];
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Waits for a log line matching `pred` (one already seen counts). */
  waitForLog(pred: (e: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
}

/** A node started with `serve`, with its URLs from the 'barrage listening' line. */
export interface NodeProcess extends BarrageProcess {
  url: string;
  wsUrl: string;
  nodeId: string;
}

const started = new Set<number>();

/** The environment without any BARRAGE_ variable (so the host's settings do not leak in). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BARRAGE_')) env[k] = v;
  // No store unless asked: parallel tests must not share ./data.
  return { ...env, BARRAGE_STORE: 'none' };
}

/** Starts `barrage ARGS...` (not waiting for anything). */
export function spawnBarrage(args: string[]): BarrageProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: cleanEnv() });
  if (child.pid === undefined) throw new Error('barrage did not start');
  const pid = child.pid;
  started.add(pid);
  const logs: LogEntry[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogEntry);
    } catch {
      return; // not a log line
    }
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      started.delete(pid);
      resolve({ code, signal });
      for (const wake of [...waiters]) wake();
    }),
  );
  const waitForLog = (pred: (e: LogEntry) => boolean, timeoutMs = 15_000) =>
    new Promise<LogEntry>((resolve, reject) => {
      const check = () => {
        const found = logs.find(pred);
        if (found) done(() => resolve(found));
        else if (child.exitCode !== null || child.signalCode !== null)
          done(() => reject(new Error(`barrage exited before the log line; stderr: ${stderr}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no such log line in ${timeoutMs} ms: ${stderr}`))),
        timeoutMs,
      );
      const done = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  return { child, pid, logs, exited, stderr: () => stderr, waitForLog };
}

/** Starts `barrage serve --host 127.0.0.1 --port 0 ARGS...` and waits until it listens. */
export async function startNode(args: string[]): Promise<NodeProcess> {
  const p = spawnBarrage(['serve', '--host', '127.0.0.1', '--port', '0', ...args]);
  const line = await p.waitForLog((e) => e.msg === 'barrage listening' && Boolean(e.url), 30_000);
  const url = String(line.url);
  return Object.assign(p, {
    url,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    nodeId: String(line.nodeId),
  });
}

/** PIDs of a process's children (Linux /proc; empty where unavailable). */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process still runs (a zombie waiting to be reaped does not count). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * SIGKILLs every process started here that still runs, and their children (workers), by PID,
 * then waits (bounded) until they are gone.
 */
export async function killAll(): Promise<void> {
  const pids = [...started];
  for (const pid of pids) pids.push(...childPids(pid));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (pids.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
