/**
 * The timeline bench's live phases (issue 12): a Barrage server with a store, a hot room of
 * WebSocket members, measured twice with the same load: alone, then while timeline comments are
 * published into a `vod:` room of the same node over WebSocket (each acknowledged only once
 * committed). It reports the hot room's p99 in both phases, the ingest rate reached, and the
 * server's own event-loop delay, CPU (alone, with ingest, ingest alone) and store counters (from
 * `GET /api/stats`). With `--pin` the server runs on CPU 0 and the load generators (this process,
 * the hot room's receivers, the ingest generator) on CPU 1, as `barrage bench --pin` does; the
 * ingest generator is a child process at a lower priority (ingest-client.ts).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { cpus, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Progress } from '../report/progress.js';
import { signToken } from '../scenarios/layout.js';
import { runScenario } from '../scenarios/run.js';
import type { RunParams } from '../scenarios/types.js';
import { BENCH_API_KEY, startTarget, type Target } from '../servers/targets.js';
import { procCpuSeconds } from '../stats/proc.js';

/** How the live phases are run. */
export interface LiveOptions {
  /** `serve` flags choosing the store (`--store embedded --data-dir D`, or postgres). */
  storeArgs: string[];
  /** Members of the hot room. */
  connections: number;
  /** Messages/s published into the hot room. */
  rate: number;
  durationMs: number;
  /** Timeline comments/s offered during the second phase. */
  ingestRate: number;
  /** `taskset -c` list for the server, or null. */
  serverCpus: string | null;
  /**
   * `taskset -c` list for the load generators (this process and the processes it forks: the hot
   * room's receivers, the ingest generator) during the live phases, or null.
   */
  clientCpus: string | null;
  progress: Progress;
}

/** What the live phases measured. */
export interface LiveResult {
  hotP99AloneMs: number;
  hotP99WithIngestMs: number;
  /** p99 with ingest over p99 alone, minus one, in %. */
  hotP99ChangePct: number;
  /** Comments/s acknowledged (committed) during the ingest phase. */
  ingestPerS: number;
  /** Comments/s the generator sent (below the offered rate: it could not keep the pace). */
  ingestSentPerS: number;
  ingestErrors: number;
  /** Highest event-loop delay p99 the server reported during the ingest phase, ms. */
  serverLoopP99Ms: number;
  meanBatch: number;
  storeWriteP99Ms: number;
  /** Server CPU, % of one core, in each phase. */
  serverCpuPctAlone: number | null;
  serverCpuPctWithIngest: number | null;
  /** Server CPU, % of one core, with the ingest and no hot room (its last 10 s). */
  serverCpuPctIngestAlone: number | null;
  /** Server CPU the ingest added, per acknowledged comment, µs (survives a busy machine). */
  serverUsPerComment: number | null;
}

/**
 * Connections publishing timeline comments. A connection's commands run in order and a timeline
 * publish is answered after its commit (a few tens of ms), so one connection carries a few dozen
 * comments a second: the ingest takes many, as many viewers posting would.
 */
const INGEST_CONNS = 2000;
/**
 * The served node runs as docs/storage.md advises for a node taking an ingest: V8's young
 * generation raised from 16 to 64 MB a semi-space. Every comment in flight waits tens of ms for
 * its commit, so at thousands a second many outlive a scavenge and are copied; fewer scavenges,
 * fewer copies (GC was 16-17 % of the node's CPU samples under ingest, 9-12 % with this).
 */
const INGEST_NODE_ARGS = ['--max-semi-space-size=64'];
/** The ingest generator's nice value: below the hot room's receivers and publisher. */
const INGEST_NICE = 10;

interface IngestCounts {
  acked: number;
  errors: number;
  sent: number;
}

/**
 * The ingest generator (ingest-client.ts) in a child process at a lower priority: its 20 000
 * sends and acknowledgements a second would otherwise run in the bench's own event loop, beside
 * the hot room's publisher, and take the CPU the hot room's receivers need when they share a
 * core, so the hot room's p99 would partly be the generator's.
 */
class IngestProcess {
  private readonly child: ChildProcess;
  private readonly waiting: ((
    reply: IngestCounts & { opened?: number; error?: string },
  ) => void)[] = [];

  constructor() {
    const path = fileURLToPath(import.meta.url).replace(
      /live\.(ts|js)$/,
      (_m, ext: string) => `ingest-client.${ext}`,
    );
    // execArgv is inherited, so a run under tsx forks the .ts file.
    this.child = fork(path, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      setPriority(this.child.pid ?? 0, INGEST_NICE);
    } catch {
      // Not allowed here: the generator runs at the bench's priority.
    }
    this.child.on('message', (reply: IngestCounts) => this.waiting.shift()?.(reply));
  }

  private call(req: object): Promise<IngestCounts & { opened?: number; error?: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ingest generator did not answer')), 60_000);
      this.waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send(req);
    });
  }

  async open(target: Target): Promise<void> {
    const token = await signToken(target.jwtSecret ?? '', 'ingest');
    const reply = await this.call({
      cmd: 'open',
      url: target.wsUrls[0]!,
      token,
      conns: INGEST_CONNS,
    });
    if (reply.error) throw new Error(`ingest generator: ${reply.error}`);
  }

  /** Sends `rate` comments a second until `stop`. */
  start(rate: number): void {
    this.child.send({ cmd: 'start', rate });
  }

  /** Stops sending; resolves with the acknowledged and refused counts so far. */
  stop(): Promise<IngestCounts> {
    return this.call({ cmd: 'stop' });
  }

  close(): void {
    this.child.kill();
  }
}

interface StoreStats {
  eventLoopP99Ms: number;
  store: { meanBatch: number; writeP99Ms: number } | null;
}

async function serverStats(target: Target): Promise<StoreStats | null> {
  try {
    const res = await fetch(`${target.httpUrl}/api/stats`, {
      headers: { authorization: `Bearer ${BENCH_API_KEY}` },
    });
    const body = (await res.json()) as { nodes: StoreStats[] };
    return body.nodes[0] ?? null;
  } catch {
    return null;
  }
}

/** Sets the CPUs of every thread of this process (`taskset -a -p -c`); false when it failed. */
function pinSelf(cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs the hot room alone, then beside the ingest, on one fresh server. */
export async function runLive(o: LiveOptions): Promise<LiveResult> {
  // Off the server's core, with every process forked from here; set back when done, as the
  // in-process ingest of the next store runs unpinned.
  const pinned = o.clientCpus !== null && pinSelf(o.clientCpus);
  if (o.clientCpus !== null && !pinned)
    o.progress.log(`warning: could not pin the load generators to ${o.clientCpus}`);
  try {
    return await live(o);
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
}

async function live(o: LiveOptions): Promise<LiveResult> {
  const target = await startTarget('barrage', {
    serverCpus: o.serverCpus,
    serveArgs: [...o.storeArgs, '--store-queue-size', '20000'],
    nodes: 1,
    redisUrl: null,
    startTimeoutMs: 30_000,
    nodeArgs: INGEST_NODE_ARGS,
  });
  const params: RunParams = {
    scenario: 'hot-room',
    connections: o.connections,
    rooms: 1,
    rate: o.rate,
    durationMs: o.durationMs,
    drainMs: 3000,
    publishers: 1,
    payloadBytes: 100,
    sweepOf: 'hot-room',
    sweepFactor: 2,
    sweepSteps: 1,
    maxLossPct: 100,
    maxP99Ms: 1e9,
  };
  const gen = { clientsProcs: 1, sourceIps: 8, connectConcurrency: 200, connectTimeoutMs: 10_000 };
  const ingest = new IngestProcess();
  try {
    o.progress.log('timeline live: hot room alone…');
    const alone = await runScenario(target, params, gen, o.progress);
    if (alone.error) throw new Error(`hot room alone: ${alone.error}`);
    await ingest.open(target);
    o.progress.log(`timeline live: hot room with ${o.ingestRate} comments/s offered…`);
    const t0 = performance.now();
    ingest.start(o.ingestRate);
    const withIngest = await runScenario(target, params, gen, o.progress);
    if (withIngest.error) throw new Error(`hot room with ingest: ${withIngest.error}`);
    // The server's event-loop p99 is over a rolling window of 10 to 11 s (reset when read after
    // 10 s; read every second here): readings from 12 s into an ingest-only stretch cover ingest
    // alone, not the connection storms of the phases before.
    o.progress.log('timeline live: ingest alone, for the server event-loop delay…');
    let loop = 0;
    const stretch = performance.now();
    let cpuFrom: { at: number; cpu: number | null } | null = null;
    for (let i = 0; i < 22; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await serverStats(target);
      if (performance.now() - stretch < 12_000) continue;
      if (s) loop = Math.max(loop, s.eventLoopP99Ms);
      cpuFrom ??= { at: performance.now(), cpu: procCpuSeconds(target.pids[0] ?? 0) };
    }
    const cpuTo = procCpuSeconds(target.pids[0] ?? 0);
    const ingestAloneCpu =
      cpuFrom?.cpu != null && cpuTo !== null
        ? Math.round(((cpuTo - cpuFrom.cpu) / ((performance.now() - cpuFrom.at) / 1000)) * 1000) /
          10
        : null;
    const { acked, errors, sent } = await ingest.stop();
    const seconds = (performance.now() - t0) / 1000;
    const stats = await serverStats(target);
    const p99a = alone.phases[0]!.latencyMs.p99;
    const p99b = withIngest.phases[0]!.latencyMs.p99;
    const cpuA = alone.phases[0]!.serverCpuPct;
    const cpuB = withIngest.phases[0]!.serverCpuPct;
    const added =
      // Not when the ingest phase used less CPU than the phase alone: the server was starved.
      cpuA !== null && cpuB !== null && acked > 0 && cpuB > cpuA
        ? Math.round((((cpuB - cpuA) / 100) * seconds * 1e6) / acked)
        : null;
    return {
      hotP99AloneMs: p99a,
      hotP99WithIngestMs: p99b,
      hotP99ChangePct: Math.round((p99b / p99a - 1) * 1000) / 10,
      ingestPerS: Math.round(acked / seconds),
      ingestSentPerS: Math.round(sent / seconds),
      ingestErrors: errors,
      serverLoopP99Ms: loop,
      meanBatch: Math.round(stats?.store?.meanBatch ?? 0),
      storeWriteP99Ms: Math.round((stats?.store?.writeP99Ms ?? 0) * 10) / 10,
      serverCpuPctAlone: cpuA,
      serverCpuPctWithIngest: cpuB,
      serverCpuPctIngestAlone: ingestAloneCpu,
      serverUsPerComment: added,
    };
  } finally {
    ingest.close();
    await target.stop();
  }
}
