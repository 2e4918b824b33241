/**
 * Runs one scenario against one target: open the receivers, measure memory, then one publishing
 * phase (a sweep: several, raising the rate until loss or p99 breaks), measuring deliveries,
 * latency, server CPU (from /proc) and load-generator CPU for each.
 */

import { ClientPool, type PoolSnapshot } from '../loadgen/pool.js';
import {
  apiAgent,
  openSockets,
  type PublishResult,
  RoomPublishers,
  runApiCalls,
} from '../loadgen/publisher.js';
import type { Progress } from '../report/progress.js';
import { NOISY_PCT } from '../report/table.js';
import { diffCounters, readCounters } from '../servers/stats.js';
import type { Target } from '../servers/targets.js';
import {
  runQueueWaitSeconds,
  systemCpuSeconds,
  totalCpuSeconds,
  totalRssKiB,
} from '../stats/proc.js';
import {
  absentTargets,
  DEVICES_PER_USER,
  type Layout,
  layoutOf,
  publisherConns,
} from './layout.js';
import { latencyOf, measureRedelivery } from './redelivery.js';
import type { PhaseResult, RunParams, RunResult } from './types.js';

/** How the load generator itself is set up. */
export interface GenOptions {
  clientsProcs: number;
  sourceIps: number;
  /** Receivers offer permessage-deflate. @default false */
  deflate?: boolean;
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** Wait after the clients joined before reading the server's RSS (default 1000 ms). */
  settleMs?: number;
}

/** Busiest-process CPU (% of a core) above which a phase is flagged client-bound. */
export const CLIENT_BOUND_PCT = 85;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mainCpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

/** Run-queue wait (s) of each process's main thread, in order; null when unreadable. */
function waits(pids: readonly number[]): (number | null)[] {
  return pids.map(runQueueWaitSeconds);
}

/** The largest wait between two readings of `waits`, as % of `wallS`; null when none read. */
function maxWaitPct(
  before: (number | null)[],
  after: (number | null)[],
  wallS: number,
): number | null {
  let max: number | null = null;
  after.forEach((a, i) => {
    const b = before[i];
    if (a === null || b === null || b === undefined) return;
    max = Math.max(max ?? 0, ((a - b) / wallS) * 100);
  });
  return max === null ? null : Math.round(max);
}

async function genCpu(pool: ClientPool): Promise<number[]> {
  const snap = await pool.snapshot();
  return pool.workerPids.length === 0 ? snap.cpuSeconds : [mainCpu(), ...snap.cpuSeconds];
}

/** Runs `params.scenario` against `target`; never throws (errors land in `error`). */
export async function runScenario(
  target: Target,
  params: RunParams,
  gen: GenOptions,
  progress: Progress,
): Promise<RunResult> {
  const result = emptyRunResult(target.name, target.kind, params, null);
  const pool = new ClientPool(gen.clientsProcs);
  let publishers: RoomPublishers | null = null;
  const label = `${params.scenario} ${target.name}`;
  const alerts = params.scenario === 'alerts';
  try {
    await sleep(300);
    result.memory.baselineKiB = totalRssKiB(target.pids);
    const layout = await layoutOf(params, target);
    progress.update(0, `${label}: connecting ${layout.receivers.length}`);
    const opened = await pool.open(
      {
        kind: target.kind,
        sourceIps: gen.sourceIps,
        deflate: gen.deflate === true,
        concurrency: gen.connectConcurrency,
        timeoutMs: gen.connectTimeoutMs,
        trackFirst: alerts,
      },
      layout.receivers,
      alerts ? DEVICES_PER_USER : 1,
    );
    Object.assign(result.connections, {
      opened: opened.opened,
      failed: opened.failed,
      errors: opened.errors,
      connectMs: opened.ms,
    });
    if (opened.opened === 0) throw new Error(`no connection opened: ${opened.errors.join('; ')}`);
    await sleep(gen.settleMs ?? 1000);
    result.memory.connectedKiB = totalRssKiB(target.pids);
    if (result.memory.baselineKiB !== null && result.memory.connectedKiB !== null) {
      const grown = result.memory.connectedKiB - result.memory.baselineKiB;
      result.memory.kibPerConn = Math.round((grown / opened.opened) * 100) / 100;
    }
    if (params.scenario === 'idle') {
      result.idleCpuPct = await measureIdle(target, params.durationMs, progress, label);
      return result;
    }
    if (layout.publishes) {
      publishers = new RoomPublishers(target.kind, layout.rooms, params.payloadBytes);
      await publishers.open(
        await publisherConns(params, target),
        gen.sourceIps,
        gen.connectTimeoutMs,
      );
    }
    const rates = ratesOf(params);
    let retriedStep = -1;
    for (let step = 0; step < rates.length; step++) {
      const rate = rates[step]!;
      const stepLabel =
        rates.length > 1 ? `${label} step ${step + 1} P=${rate}` : `${label} P=${rate}`;
      const phase = await runPhase(
        target,
        params,
        layout,
        opened.joined,
        pool,
        publishers,
        rate,
        progress,
        stepLabel,
      );
      // Other load on the machine can fail a step: repeat each such step once before giving up.
      const noisy = (phase.otherCpuPct ?? 0) > NOISY_PCT;
      if (params.scenario === 'sweep' && !phase.ok && noisy && retriedStep !== step) {
        retriedStep = step;
        result.retried.push(rate);
        progress.log(`${stepLabel}: failed while the machine was busy; repeating the step once`);
        await sleep(2000);
        step--;
        continue;
      }
      result.phases.push(phase);
      if (params.scenario === 'sweep') {
        // A publisher a message or two behind at 1-2 messages/s is the machine's hiccup, not a limit.
        if (!phase.ok || phase.behind > Math.max(2, phase.published * 0.01)) break;
        if (!result.best || phase.deliveriesPerSec > result.best.deliveriesPerSec) {
          result.best = {
            rate,
            deliveriesPerSec: phase.deliveriesPerSec,
            clientBound: phase.clientBound,
          };
        }
        // Past this point the generator, not the server, would set the limit.
        if (phase.clientBound) break;
        await sleep(1000);
      }
    }
    if (params.scenario === 'push' || params.scenario === 'publish') {
      // The same calls to users (rooms) with no connection: the HTTP API's own cost per call,
      // so the first phase's cost splits into the API's and the deliveries'.
      await sleep(1000);
      const rate = params.rate;
      const label2 = `${label} P=${rate} API alone`;
      result.phases.push(
        await runPhase(target, params, layout, opened.joined, pool, null, rate, progress, label2, {
          apiOnly: true,
        }),
      );
    }
    const redeliveryUsers = params.redeliveryUsers ?? 0;
    if (alerts && redeliveryUsers > 0) {
      result.redelivery = await measureRedelivery(target, params, 10_000, (u) =>
        progress.update(u / redeliveryUsers, `${label}: redelivery, user ${u + 1}`),
      );
    }
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    progress.clear();
    publishers?.close();
    await pool.close();
  }
  return result;
}

/** The offered rates of a run: one, or the sweep's geometric steps. */
export function ratesOf(params: RunParams): number[] {
  if (params.scenario !== 'sweep') return [params.rate];
  if (params.sweepRates && params.sweepRates.length > 0) return [...params.sweepRates];
  const out: number[] = [];
  let r = params.rate;
  for (let i = 0; i < Math.max(1, params.sweepSteps); i++) {
    out.push(Math.round(r));
    r *= params.sweepFactor;
  }
  return out;
}

async function measureIdle(
  target: Target,
  durationMs: number,
  progress: Progress,
  label: string,
): Promise<number | null> {
  const cpu0 = totalCpuSeconds(target.pids);
  const t0 = Date.now();
  const end = t0 + durationMs;
  while (Date.now() < end) {
    progress.update((Date.now() - t0) / durationMs, `${label}: idle`);
    await sleep(Math.min(200, Math.max(1, end - Date.now())));
  }
  const cpu1 = totalCpuSeconds(target.pids);
  if (cpu0 === null || cpu1 === null) return null;
  return Math.round(((cpu1 - cpu0) / ((Date.now() - t0) / 1000)) * 10000) / 100;
}

async function runPhase(
  target: Target,
  params: RunParams,
  layout: Layout,
  joined: Record<string, number>,
  pool: ClientPool,
  publishers: RoomPublishers | null,
  rate: number,
  progress: Progress,
  label: string,
  opts: { apiOnly?: boolean } = {},
): Promise<PhaseResult> {
  const apiOnly = opts.apiOnly === true;
  const tick = (elapsed: number, sent: number): void =>
    progress.update(elapsed / params.durationMs, `${label}: ${sent} sent`);
  const measure = (run: () => Promise<PublishResult>) =>
    measurePhase(target, params, layout, joined, pool, rate, label, {
      apiOnly,
      viaPublishers: publishers !== null,
      run,
      progress,
    });
  if (publishers) return measure(() => publishers.run(rate, params.durationMs, tick));
  const call = params.scenario === 'publish' ? 'publish' : 'push';
  const callTargets = apiOnly
    ? absentTargets(layout, call)
    : call === 'publish'
      ? layout.rooms
      : layout.users;
  // A stored push is answered after the commit: with few connections the calls would queue in
  // the generator and the queue would count as latency. One per call in flight.
  const sockets = params.scenario === 'alerts' ? 256 : 32;
  const agent = apiAgent(sockets);
  const apiCalls = (durationMs: number, firstSeq: number, onTick?: typeof tick) =>
    runApiCalls({
      httpUrl: target.httpUrl,
      apiKey: target.apiKey,
      call,
      targets: callTargets,
      rate,
      durationMs,
      payloadBytes: params.payloadBytes,
      maxInFlight: 256,
      persist: params.scenario === 'alerts',
      agent,
      firstSeq,
      ...(onTick ? { onTick } : {}),
    });
  try {
    // Opened first, with or without a warm-up (openSockets says why).
    await openSockets(agent, target.httpUrl, sockets);
    // The warm-up: the same calls at the same rate over the same keep-alive connections, so the
    // window measures a running service (wrk2 does the same). Its own p99 is kept: it shows the
    // cold start.
    let warmup: PhaseResult['warmup'] = null;
    const warmupMs = params.warmupMs ?? 0;
    if (warmupMs > 0) {
      progress.update(0, `${label}: warm-up`);
      await pool.reset(Date.now());
      await apiCalls(warmupMs, WARMUP_SEQ);
      // Its deliveries still on the way arrive before the window's counters start.
      const cold = await settled(pool, params.drainMs);
      warmup = { ms: warmupMs, p99Ms: latencyOf(cold.first ?? cold.latency).p99 };
    }
    const phase = await measure(() => apiCalls(params.durationMs, 0, tick));
    return warmup ? { ...phase, warmup } : phase;
  } finally {
    agent.destroy();
  }
}

/** The pool's counts once no delivery arrived for 500 ms (or after `maxMs`). */
async function settled(pool: ClientPool, maxMs: number): Promise<PoolSnapshot> {
  const end = Date.now() + maxMs;
  let snap = await pool.snapshot();
  let still = 0;
  while (still < 2 && Date.now() < end) {
    await sleep(250);
    const next = await pool.snapshot();
    still = next.received === snap.received ? still + 1 : 0;
    snap = next;
  }
  return snap;
}

/**
 * The warm-up's first sequence number: far from the window's, so the first-delivery tracking of
 * alerts (by sequence number) never takes one for the other.
 */
const WARMUP_SEQ = 1_000_000_000;

/** The measured window of one phase: counters, CPU and waits around `run`, then the drain. */
async function measurePhase(
  target: Target,
  params: RunParams,
  layout: Layout,
  joined: Record<string, number>,
  pool: ClientPool,
  rate: number,
  label: string,
  o: {
    apiOnly: boolean;
    /** Room publishers over WebSocket, not API calls. */
    viaPublishers: boolean;
    run: () => Promise<PublishResult>;
    progress: Progress;
  },
): Promise<PhaseResult> {
  const { apiOnly, progress } = o;
  const publishers = o.viaPublishers;
  const httpUrls = target.wsUrls.map((u) => u.replace(/^ws/, 'http'));
  const barrage = target.kind === 'barrage' || target.kind === 'barrage-sse';
  const counters0 = barrage ? await readCounters(httpUrls, target.apiKey) : null;
  const t0 = Date.now();
  await pool.reset(t0);
  const srv0 = totalCpuSeconds(target.pids);
  const sys0 = systemCpuSeconds();
  const gen0 = await genCpu(pool);
  const genPids = [process.pid, ...pool.workerPids];
  const srvWait0 = waits(target.pids);
  const genWait0 = waits(genPids);
  const wait0 = Date.now();
  const pub = await o.run();
  const expected = apiOnly
    ? 0
    : publishers || params.scenario === 'publish'
      ? layout.rooms.reduce(
          (sum, room, i) =>
            sum + ((pub.perRoom[i] ?? 0) - (pub.errorsPerRoom[i] ?? 0)) * (joined[room] ?? 0),
          0,
        )
      : pub.delivered;
  // Drain: wait until everything expected arrived, arrivals stop for 2 s, or the drain time is up.
  const drainEnd = Date.now() + params.drainMs;
  let snap = await pool.snapshot();
  let last = -1;
  let still = 0;
  while (Date.now() < drainEnd && snap.received < expected && still < 8) {
    progress.update(1, `${label}: draining ${snap.received}/${expected}`);
    await sleep(250);
    snap = await pool.snapshot();
    still = snap.received === last ? still + 1 : 0;
    last = snap.received;
  }
  const wallS = (Date.now() - t0) / 1000;
  // Run-queue waits over their own interval (read before awaiting the workers' snapshots).
  const waitS = Math.max(0.001, (Date.now() - wait0) / 1000);
  const srvWait = maxWaitPct(srvWait0, waits(target.pids), waitS);
  const genWait = maxWaitPct(genWait0, waits(genPids), waitS);
  const srv1 = totalCpuSeconds(target.pids);
  const sys1 = systemCpuSeconds();
  const gen1 = await genCpu(pool);
  const counters1 = counters0 ? await readCounters(httpUrls, target.apiKey) : null;
  const genDelta = gen1.map((c, i) => c - (gen0[i] ?? 0));
  const srvCpu = srv0 !== null && srv1 !== null ? srv1 - srv0 : null;
  const pubS = Math.max(0.001, pub.ms / 1000);
  // Alerts: the headline is the first device of each user (every device: allDevicesMs).
  const latency = latencyOf(snap.first ?? snap.latency);
  const lossPct = expected > 0 ? Math.max(0, (1 - snap.received / expected) * 100) : 0;
  const genMax = (Math.max(0, ...genDelta) / wallS) * 100;
  const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
  const genSum = genDelta.reduce((a, b) => a + b, 0);
  const other =
    sys0 && sys1 && srvCpu !== null ? Math.max(0, sys1.busy - sys0.busy - srvCpu - genSum) : null;
  return {
    rate,
    published: pub.sent,
    publishErrors: pub.errors,
    ...(pub.errorReasons?.length ? { publishErrorReasons: pub.errorReasons } : {}),
    behind: pub.behind,
    expected,
    received: snap.received,
    frames: snap.frames,
    bytesPerDelivery: snap.received > 0 ? round(snap.bytes / snap.received, 1) : null,
    deliveriesPerSec: Math.round(snap.received / pubS),
    lossPct: round(lossPct, 3),
    latencyMs: latency,
    serverCpuPct: srvCpu === null ? null : round((srvCpu / wallS) * 100),
    deliveriesPerCpuSec: srvCpu === null || srvCpu <= 0 ? null : Math.round(snap.received / srvCpu),
    serverUsPerCall:
      publishers || srvCpu === null || pub.sent === 0 ? null : round((srvCpu / pub.sent) * 1e6),
    genCpuPct: round((genSum / wallS) * 100),
    otherCpuPct: other === null ? null : round((other / wallS) * 100),
    genCpuMaxPct: round(genMax),
    serverWaitPct: srvWait,
    genWaitMaxPct: genWait,
    clientBound: genMax >= CLIENT_BOUND_PCT,
    server: counters0 && counters1 ? diffCounters(counters0, counters1) : null,
    closes: snap.closes,
    timeline: snap.timeline.slice(0, Math.ceil(params.durationMs / 1000)),
    ok: apiOnly
      ? pub.errors === 0 && pub.sent > 0
      : lossPct <= params.maxLossPct && latency.p99 <= params.maxP99Ms && expected > 0,
    ...(apiOnly ? { apiOnly } : {}),
    allDevicesMs: snap.first ? latencyOf(snap.latency) : null,
  };
}

/** A result with nothing measured yet (or only an error): the shape every run starts from. */
export function emptyRunResult(
  name: string,
  kind: string,
  params: RunResult['params'],
  error: string | null,
): RunResult {
  return {
    target: name,
    kind,
    scenario: params.scenario,
    params,
    connections: { requested: params.connections, opened: 0, failed: 0, errors: [], connectMs: 0 },
    memory: { baselineKiB: null, connectedKiB: null, kibPerConn: null },
    idleCpuPct: null,
    phases: [],
    best: null,
    retried: [],
    error,
  };
}
