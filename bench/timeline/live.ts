/**
 * The timeline bench's live phases (issue 12): a Barrage server with a store, a hot room of
 * WebSocket members, measured twice with the same load: alone, then while timeline comments are
 * published into a `vod:` room of the same node over WebSocket (each acknowledged only once
 * committed). It reports the hot room's p99 in both phases, the ingest rate reached, and the
 * server's own event-loop delay and store counters (from `GET /api/stats`).
 */
import type WebSocket from 'ws';
import { openClient } from '../loadgen/clients.js';
import type { Progress } from '../report/progress.js';
import { signToken } from '../scenarios/layout.js';
import { runScenario } from '../scenarios/run.js';
import type { RunParams } from '../scenarios/types.js';
import { BENCH_API_KEY, startTarget, type Target } from '../servers/targets.js';

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
  ingestErrors: number;
  /** Highest event-loop delay p99 the server reported during the ingest phase, ms. */
  serverLoopP99Ms: number;
  meanBatch: number;
  storeWriteP99Ms: number;
  /** Server CPU, % of one core, in each phase. */
  serverCpuPctAlone: number | null;
  serverCpuPctWithIngest: number | null;
  /** Server CPU the ingest added, per acknowledged comment, µs (survives a busy machine). */
  serverUsPerComment: number | null;
}

/**
 * Connections publishing timeline comments, and the most unacknowledged on each. A connection's
 * commands run in order and a timeline publish is answered after its commit (a few tens of ms),
 * so one connection carries a few dozen comments a second: the ingest takes many, as many
 * viewers posting would.
 */
const INGEST_CONNS = 2000;
const WINDOW = 2;

/** Publishes timeline comments at a paced rate over a few sockets, counting acknowledgements. */
class TimelineIngest {
  private sockets: WebSocket[] = [];
  private readonly outstanding: number[] = [];
  private acked = 0;
  private errors = 0;
  private sent = 0;
  private next = 0;
  private timer: NodeJS.Timeout | null = null;

  async open(target: Target): Promise<void> {
    const token = await signToken(target.jwtSecret ?? '', 'ingest');
    const conns = Array.from({ length: INGEST_CONNS }, () => ({
      url: target.wsUrls[0]!,
      rooms: [],
      token,
    }));
    for (let i = 0; i < conns.length; i += 200) {
      const opened = await Promise.all(
        conns
          .slice(i, i + 200)
          .map((c, k) =>
            openClient({ kind: 'barrage', sourceIps: 8, timeoutMs: 10_000 }, c, i + k),
          ),
      );
      this.sockets.push(...opened);
    }
    this.sockets.forEach((ws, k) => {
      this.outstanding[k] = 0;
      ws.on('error', () => {});
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        const ok = count(text, '"type":"ok"');
        const bad = count(text, '"type":"error"');
        this.acked += ok;
        this.errors += bad;
        this.outstanding[k] = Math.max(0, this.outstanding[k]! - ok - bad);
      });
    });
  }

  /** Sends `rate` comments a second (in 10 ms slices) until `stop`. */
  start(rate: number): void {
    const started = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      // Round robin over the sockets, skipping full ones; one pass over them at most per slice.
      for (let k = 0; this.sent < due && k < this.sockets.length; k++) {
        const s = this.next++ % this.sockets.length;
        if (this.outstanding[s]! >= WINDOW) continue;
        const t = (this.sent * 7919) % 7_200_000;
        this.sockets[s]!.send(
          `{"type":"publish","id":${this.sent},"room":"vod:bench-ingest","data":{"text":"comment ${this.sent}"},"t":${t}}`,
        );
        this.outstanding[s]!++;
        this.sent++;
      }
    }, 10);
  }

  /** Stops sending; resolves with the acknowledged and refused counts so far. */
  stop(): { acked: number; errors: number } {
    if (this.timer) clearInterval(this.timer);
    return { acked: this.acked, errors: this.errors };
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0 && n < 100_000; i = text.indexOf(needle, i + 1)) n++;
  return n;
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

/** Runs the hot room alone, then beside the ingest, on one fresh server. */
export async function runLive(o: LiveOptions): Promise<LiveResult> {
  const target = await startTarget('barrage', {
    serverCpus: o.serverCpus,
    serveArgs: [...o.storeArgs, '--store-queue-size', '20000'],
    nodes: 1,
    redisUrl: null,
    startTimeoutMs: 30_000,
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
  const ingest = new TimelineIngest();
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
    for (let i = 0; i < 22; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await serverStats(target);
      if (s && performance.now() - stretch >= 12_000) loop = Math.max(loop, s.eventLoopP99Ms);
    }
    const { acked, errors } = ingest.stop();
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
      ingestErrors: errors,
      serverLoopP99Ms: loop,
      meanBatch: Math.round(stats?.store?.meanBatch ?? 0),
      storeWriteP99Ms: Math.round((stats?.store?.writeP99Ms ?? 0) * 10) / 10,
      serverCpuPctAlone: cpuA,
      serverCpuPctWithIngest: cpuB,
      serverUsPerComment: added,
    };
  } finally {
    ingest.close();
    await target.stop();
  }
}
