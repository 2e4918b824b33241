/**
 * The receivers of a run, in this process or spread over K worker processes (`--clients-procs`)
 * so that a fast server does not make the load generator the bottleneck.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../stats/histogram.js';
import {
  ClientGroup,
  type ConnSpec,
  type GroupSnapshot,
  type OpenResult,
  type OpenSpec,
} from './clients.js';
import type { WorkerCall } from './worker.js';

/** Merged counts of every receiver process. */
export interface PoolSnapshot {
  received: number;
  frames: number;
  latency: Histogram;
  /** First deliveries of each message (alerts: to the first device), or null. */
  first: Histogram | null;
  timeline: number[];
  closes: Record<string, number>;
  /** CPU seconds per generator process (this process first when it holds clients). */
  cpuSeconds: number[];
  /** Bytes the receivers read from their sockets since the reset. */
  bytes: number;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class Worker {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { id: number; result: unknown }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      p?.resolve(msg.result);
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker exited ${code}`));
      this.pending.clear();
    });
  }
  call<T>(req: WorkerCall, timeoutMs = 120_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${req.cmd} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...req, id });
    });
  }
}

function workerPath(): string {
  const self = fileURLToPath(import.meta.url);
  return self.replace(/pool\.(ts|js)$/, (_m, ext: string) => `worker.${ext}`);
}

/**
 * Receivers in this process (procs = 0) or in `procs` forked workers; with workers this process
 * keeps only the publishers, so a busy receiver cannot delay the publishing schedule.
 */
export class ClientPool {
  private readonly local: ClientGroup | null;
  private readonly workers: Worker[] = [];

  constructor(procs: number) {
    if (procs <= 0) {
      this.local = new ClientGroup();
      return;
    }
    this.local = null;
    const path = workerPath();
    for (let i = 0; i < procs; i++) {
      // execArgv is inherited, so a run under tsx (`--import tsx`) forks the .ts worker.
      const child = fork(path, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.workers.push(new Worker(child));
    }
  }

  /** PIDs of the worker processes (empty when the clients live in this process). */
  get workerPids(): number[] {
    return this.workers.map((w) => w.child.pid ?? 0);
  }

  /**
   * Opens the connections, split evenly over the processes; each share is a multiple of `group`
   * connections, so that neighbours (a user's devices) stay in one process.
   */
  async open(
    spec: Omit<OpenSpec, 'conns' | 'indexOffset'>,
    conns: ConnSpec[],
    group = 1,
  ): Promise<OpenResult> {
    if (this.local) return this.local.open({ ...spec, conns, indexOffset: 0 });
    const k = this.workers.length;
    const per = Math.ceil(conns.length / k / group) * group;
    const results = await Promise.all(
      this.workers.map((w, i) =>
        w.call<OpenResult>({
          cmd: 'open',
          spec: {
            ...spec,
            conns: conns.slice(i * per, (i + 1) * per),
            indexOffset: i * per,
            concurrency: Math.max(1, Math.ceil(spec.concurrency / k)),
          },
        }),
      ),
    );
    const out: OpenResult = { opened: 0, failed: 0, errors: [], joined: {}, ms: 0 };
    for (const r of results) {
      out.opened += r.opened;
      out.failed += r.failed;
      out.errors.push(...r.errors);
      out.ms = Math.max(out.ms, r.ms);
      for (const [room, n] of Object.entries(r.joined))
        out.joined[room] = (out.joined[room] ?? 0) + n;
    }
    out.errors = [...new Set(out.errors)].slice(0, 5);
    return out;
  }

  /** Starts a new measurement in every process. */
  async reset(startMs: number): Promise<void> {
    if (this.local) return this.local.reset(startMs);
    await Promise.all(this.workers.map((w) => w.call({ cmd: 'reset', startMs })));
  }

  /** Merged counts of every process. */
  async snapshot(): Promise<PoolSnapshot> {
    const snaps: GroupSnapshot[] = this.local
      ? [this.local.snapshot()]
      : await Promise.all(this.workers.map((w) => w.call<GroupSnapshot>({ cmd: 'snapshot' })));
    const out: PoolSnapshot = {
      received: 0,
      frames: 0,
      latency: new Histogram(),
      first: null,
      timeline: [],
      closes: {},
      cpuSeconds: [],
      bytes: 0,
    };
    for (const s of snaps) {
      out.received += s.received;
      out.bytes += s.bytes;
      out.frames += s.frames;
      out.latency.merge(s.latency);
      if (s.first) {
        out.first ??= new Histogram();
        out.first.merge(s.first);
      }
      s.timeline.forEach((n, i) => {
        out.timeline[i] = (out.timeline[i] ?? 0) + n;
      });
      for (const [code, n] of Object.entries(s.closes))
        out.closes[code] = (out.closes[code] ?? 0) + n;
      out.cpuSeconds.push(s.cpuSeconds);
    }
    for (let i = 0; i < out.timeline.length; i++) out.timeline[i] ??= 0;
    return out;
  }

  /** Closes every connection and stops the workers. */
  async close(): Promise<void> {
    if (this.local) return this.local.close();
    await Promise.all(
      this.workers.map(async (w) => {
        await w.call({ cmd: 'close' }, 10_000).catch(() => {});
        w.child.disconnect();
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        const exited = new Promise((r) => w.child.once('exit', r));
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
