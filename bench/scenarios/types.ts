/** Shapes shared by the scenarios, the runner and the reports. */
import type { ServerCounters } from '../servers/stats.js';

/** The scenarios `barrage bench` runs. */
export const SCENARIOS = [
  'idle',
  'hot-room',
  'many-rooms',
  'push',
  'publish',
  'cluster',
  'sweep',
  'alerts',
] as const;
/** One scenario name. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** Parameters of one scenario run. */
export interface RunParams {
  scenario: ScenarioName;
  /** Receiving connections. */
  connections: number;
  /** Rooms the receivers are spread over (hot-room and push ignore it). */
  rooms: number;
  /** Messages per second, in total over all rooms (sweep: the first step). */
  rate: number;
  /** Publishing time per phase (idle: the measured idle time). */
  durationMs: number;
  /** Longest wait for in-flight deliveries after publishing stops. */
  drainMs: number;
  /**
   * push, publish and alerts: API calls at the phase's rate, over the same keep-alive
   * connections, right before the measured window (0: none). Absent in older reports.
   */
  warmupMs?: number;
  /** Publishing connections. */
  publishers: number;
  /** Approximate size of each message's data in bytes. */
  payloadBytes: number;
  /** Sweep: layout of the swept scenario. */
  sweepOf: 'hot-room' | 'many-rooms';
  /** Sweep: rate multiplier per step. */
  sweepFactor: number;
  /** Sweep: most steps. */
  sweepSteps: number;
  /** Sweep: the steps' rates, when given; otherwise `rate` x `sweepFactor` per step. */
  sweepRates?: number[] | null;
  /** The room of hot-room, cluster and a hot-room sweep (`live:hot` unless given). */
  room?: string;
  /** Loss (%) above which a phase fails (sweep stops). */
  maxLossPct: number;
  /** p99 latency (ms) above which a phase fails (sweep stops). */
  maxP99Ms: number;
  /** Alerts: users that get `redeliveryAlerts` stored alerts while offline, then connect (0: none). */
  redeliveryUsers?: number;
  /** Alerts: unread alerts waiting for each of those users. @default 100 */
  redeliveryAlerts?: number;
}

/** Latency percentiles in milliseconds. */
export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** One publishing phase (a sweep has several). */
export interface PhaseResult {
  /** Offered messages/s. */
  rate: number;
  published: number;
  publishErrors: number;
  /** API calls: the first few distinct reasons of the errors. Absent in older reports. */
  publishErrorReasons?: string[];
  /** Messages due but not sent by the publisher (it could not keep up). */
  behind: number;
  expected: number;
  received: number;
  frames: number;
  /**
   * Bytes the receivers read off the wire per delivery (frame headers, merging and compression
   * included; pings and other frames of the phase too). Absent in reports made before it.
   */
  bytesPerDelivery?: number | null;
  deliveriesPerSec: number;
  lossPct: number;
  latencyMs: LatencyMs;
  /** Server CPU, % of one core (can exceed 100 with several processes). */
  serverCpuPct: number | null;
  deliveriesPerCpuSec: number | null;
  /** push and publish: server CPU per answered HTTP API call, microseconds. */
  serverUsPerCall?: number | null;
  /**
   * push and publish: the phase called users (rooms) with no connection on the server, so
   * `serverUsPerCall` is the HTTP API's own cost (request, key, checks, engine, answer) without
   * any delivery. Absent in reports made before it.
   */
  apiOnly?: boolean;
  /** Load-generator CPU, % of one core, summed over its processes. */
  genCpuPct: number;
  /** The busiest load-generator process, % of one core. */
  genCpuMaxPct: number;
  /**
   * CPU used on the machine by everything else (% of one core): other load makes the numbers
   * noisy, so a phase with much of it is flagged NOISY.
   */
  otherCpuPct: number | null;
  /**
   * % of the phase the server's main thread waited for a CPU while runnable (run-queue wait,
   * /proc schedstat; the most of its processes): starved by other load. Absent in older reports.
   */
  serverWaitPct?: number | null;
  /** The same for the load generator's busiest-waiting process. */
  genWaitMaxPct?: number | null;
  /** True when the generator was near a full core: the numbers may be the client's limit. */
  clientBound: boolean;
  /** Barrage only: the server's own counters over the phase (from GET /api/stats). */
  server: ServerCounters | null;
  /** Connections closed by the server during the phase, by code. */
  closes: Record<string, number>;
  /** Deliveries per second of the phase, second by second. */
  timeline: number[];
  /** Whether the phase met the loss and p99 limits. */
  ok: boolean;
  /**
   * Alerts: latency of every delivery to every device. `latencyMs` above then holds the figure
   * the scenario is about: from the API call to the first device of the user that got the alert.
   */
  allDevicesMs?: LatencyMs | null;
  /**
   * The warm-up before the measured window (push, publish, alerts): how long, and the p99 it
   * saw, which holds the cold start (the generator's keep-alive connections opening, code not
   * yet optimized). Absent without one.
   */
  warmup?: { ms: number; p99Ms: number } | null;
}

/** Alerts: unread alerts sent to a device when it authenticates. */
export interface RedeliveryResult {
  /** Users measured (one after the other, each with `alerts` unread alerts). */
  users: number;
  alerts: number;
  /** Users whose device received every alert in time. */
  complete: number;
  /** From sending `auth` to the last of the alerts, ms, over the users. */
  allMs: LatencyMs;
  /** From sending `auth` to the first alert, ms. */
  firstMs: LatencyMs;
}

/** One scenario against one target. */
export interface RunResult {
  target: string;
  kind: string;
  scenario: ScenarioName;
  params: RunParams;
  connections: {
    requested: number;
    opened: number;
    failed: number;
    errors: string[];
    connectMs: number;
  };
  memory: { baselineKiB: number | null; connectedKiB: number | null; kibPerConn: number | null };
  /** Server CPU % with every connection open and nothing published (idle scenario). */
  idleCpuPct: number | null;
  phases: PhaseResult[];
  /** Sweep: the largest sustained delivery rate and the offered rate that gave it. */
  best: { rate: number; deliveriesPerSec: number; clientBound: boolean } | null;
  /** Sweep: offered rates of steps that failed on a busy machine and were run again. */
  retried: number[];
  /** Alerts: redelivery of unread alerts on connect, or null. */
  redelivery?: RedeliveryResult | null;
  /**
   * When and by which command the run was measured, for a report that merges runs of several
   * invocations (`--merge-docs`); absent: the report's own.
   */
  measured?: { at: string; command: string; machine?: string };
  /** Alerts: the store the server ran with (`embedded` or `postgres`). */
  store?: string;
  /** Why the run failed, when it did. */
  error: string | null;
}
