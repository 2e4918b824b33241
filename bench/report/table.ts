/**
 * The report as text: one row per run and phase, then Barrage's ratios to each peer. Columns are
 * fixed so diffs of two runs line up; "n/a" where a figure could not be measured.
 */
import type { PhaseResult, RunResult } from '../scenarios/types.js';

/** The JSON report of a bench invocation. */
export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpu: string; cores: number; memMiB: number; kernel: string; node: string };
  /** 1-minute load average when the run started (other work on the machine skews numbers). */
  loadAvgAtStart: number;
  pinning: {
    serverCpus: string | null;
    clientCpus: string | null;
    /** Node's flags for the servers it started (absent in reports made before they had any). */
    nodeFlags?: string[];
  };
  runs: RunResult[];
  comparisons: Comparison[];
}

/** Barrage against one peer in one scenario (ratios > 1 favour Barrage). */
export interface Comparison {
  scenario: string;
  peer: string;
  /** Barrage deliveries per server CPU-second / the peer's. */
  efficiency: number | null;
  /** Peer p99 / Barrage p99. */
  p99: number | null;
  /** Peer KiB per connection / Barrage's. */
  memory: number | null;
  /** Sweep: Barrage's largest sustained delivery rate / the peer's. */
  maxRate: number | null;
  /** Sweep: Barrage's best is a lower bound (client-bound, or no step failed). */
  maxRateLowerBound: boolean;
  /** Sweep: the peer's best is a lower bound. */
  peerMaxRateLowerBound: boolean;
  /** Barrage deliveries/s / the peer's. */
  throughput: number | null;
}

const fmt = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);

/** Thousands as "12.3k", millions as "1.23M". */
export function si(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** The phase a run is summed up by: the only one, or a sweep's best passing step. */
export function mainPhase(run: RunResult): PhaseResult | null {
  if (run.phases.length === 0) return null;
  if (run.best) return run.phases.find((p) => p.rate === run.best?.rate) ?? run.phases[0]!;
  return run.phases[0]!;
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0
    ? null
    : Math.round((a / b) * 100) / 100;

/** Whether a sweep passed every step it had: its best is then a lower bound of the limit. */
export function sweptToEnd(r: RunResult): boolean {
  const last = r.phases[r.phases.length - 1];
  return (
    r.scenario === 'sweep' &&
    r.phases.length >= r.params.sweepSteps &&
    last?.ok === true &&
    r.best?.rate === last.rate
  );
}

/** Barrage's ratios to each peer, per scenario both ran. */
export function compare(runs: RunResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const b of runs.filter((r) => r.kind === 'barrage' && !r.error)) {
    for (const p of runs.filter(
      (r) =>
        r.kind !== 'barrage' &&
        r.scenario === b.scenario &&
        r.params.room === b.params.room &&
        !r.error,
    )) {
      const bp = mainPhase(b);
      const pp = mainPhase(p);
      const hot = roomsOf(b).startsWith('1 ');
      out.push({
        scenario:
          hot && runs.some((r) => r.scenario === b.scenario && r.params.room !== b.params.room)
            ? `${b.scenario} ${b.params.room}`
            : b.scenario,
        peer: p.target,
        efficiency: ratio(bp?.deliveriesPerCpuSec, pp?.deliveriesPerCpuSec),
        p99: ratio(pp?.latencyMs.p99, bp?.latencyMs.p99),
        memory: ratio(p.memory.kibPerConn, b.memory.kibPerConn),
        maxRate: ratio(b.best?.deliveriesPerSec, p.best?.deliveriesPerSec),
        maxRateLowerBound: b.best?.clientBound === true || sweptToEnd(b),
        peerMaxRateLowerBound: p.best?.clientBound === true || sweptToEnd(p),
        throughput: ratio(bp?.deliveriesPerSec, pp?.deliveriesPerSec),
      });
    }
  }
  return out;
}

/** Other processes' CPU (% of one core) during a phase above which it is flagged NOISY. */
export const NOISY_PCT = 25;
/**
 * Run-queue wait (% of the phase) above which the server or generator is marked STARVED: it was
 * ready to run but other processes held its core, so its latency is the machine's.
 */
export const STARVED_PCT = 20;

/** Column headers of the main table. */
export const HEADERS = [
  'scenario',
  'target',
  'N',
  'rooms',
  'P/s',
  'deliv/s',
  'per frame',
  'B/deliv',
  'loss%',
  'p50 ms',
  'p99 ms',
  'max ms',
  'srv CPU%',
  'deliv/CPU-s',
  'RSS MiB',
  'KiB/conn',
  'gen CPU%',
  'note',
];

/** The rows of the main table (a sweep shows each step). */
export function rows(runs: RunResult[]): string[][] {
  const out: string[][] = [];
  for (const r of runs) {
    const base = [r.scenario, r.target, String(r.connections.opened), roomsOf(r)];
    const rss = r.memory.connectedKiB === null ? 'n/a' : fmt(r.memory.connectedKiB / 1024, 1);
    if (r.phases.length === 0) {
      const idle = r.idleCpuPct === null ? '' : `idle CPU ${fmt(r.idleCpuPct, 1)}%`;
      out.push([
        ...base,
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        fmt(r.idleCpuPct, 1),
        '-',
        rss,
        fmt(r.memory.kibPerConn, 1),
        '-',
        r.error ? `error: ${r.error.slice(0, 60)}` : idle,
      ]);
      continue;
    }
    for (const p of r.phases) {
      const notes: string[] = [];
      if (p.clientBound) notes.push('CLIENT-BOUND');
      if ((p.otherCpuPct ?? 0) > NOISY_PCT) notes.push(`NOISY (other load ${p.otherCpuPct}%)`);
      if ((p.serverWaitPct ?? 0) > STARVED_PCT)
        notes.push(`SERVER STARVED (waited for a CPU ${p.serverWaitPct}% of the time)`);
      if ((p.genWaitMaxPct ?? 0) > STARVED_PCT)
        notes.push(`GENERATOR STARVED (waited ${p.genWaitMaxPct}%)`);
      if (p.behind > 0) notes.push(`publisher behind ${p.behind}`);
      if (p.publishErrors > 0) {
        const why = p.publishErrorReasons?.length ? ` (${p.publishErrorReasons.join('; ')})` : '';
        notes.push(`${p.publishErrors} publish errors${why}`);
      }
      if (p.apiOnly) notes.push('API ALONE (calls to users/rooms with no connection)');
      if (p.serverUsPerCall != null) notes.push(`srv ${fmt(p.serverUsPerCall, 0)} µs/call`);
      const alone = p.apiOnly ? undefined : r.phases.find((q) => q.apiOnly)?.serverUsPerCall;
      if (p.serverUsPerCall != null && alone != null) {
        // The same calls with and without receivers: the difference is what delivering costs.
        notes.push(`of which deliveries ~${fmt(p.serverUsPerCall - alone, 0)} µs`);
      }
      const closes = Object.entries(p.closes)
        .map(([c, n]) => `${n}x${c}`)
        .join(' ');
      if (closes) notes.push(`closed ${closes}`);
      const drops = Object.entries(p.server?.drops ?? {}).map(([k, n]) => `${n} ${k}`);
      if (drops.length > 0) notes.push(`server dropped ${drops.join(' ')}`);
      const { batchWaitP99Ms: wait, fanoutSpanP99Ms: span } = p.server ?? {};
      // A hot room's latency, taken apart: the server's part (a batch's wait and its fan-out).
      if (wait !== undefined && span !== undefined && span >= 1)
        notes.push(`srv wait p99 ${fmt(wait, 0)} ms + fan-out p99 ${fmt(span, 0)} ms`);
      if (p.allDevicesMs) {
        notes.push(
          `latency to the first device; every device p99 ${fmt(p.allDevicesMs.p99, 1)} ms`,
        );
      }
      if (p.warmup) {
        const cold = p.apiOnly ? '' : ` (its p99 ${fmt(p.warmup.p99Ms, 1)} ms)`;
        notes.push(`after ${fmt(p.warmup.ms / 1000, 0)} s warm-up${cold}`);
      }
      if ((r.retried ?? []).includes(p.rate)) notes.push('repeated once (busy machine)');
      if (r.best && p.rate === r.best.rate) {
        notes.push(r.best.clientBound ? 'BEST (a lower bound: client-bound)' : 'BEST');
        if (sweptToEnd(r)) notes.push('no limit reached: raise --sweep-steps');
      }
      if (!p.ok) notes.push('FAIL');
      if (r.connections.failed > 0) notes.push(`${r.connections.failed} conn failed`);
      if (r.error) notes.push(`error: ${r.error.slice(0, 60)}`);
      out.push([
        ...base,
        fmt(p.rate),
        si(p.deliveriesPerSec),
        p.frames > 0 ? fmt(p.received / p.frames, 1) : 'n/a',
        fmt(p.bytesPerDelivery, 0),
        fmt(p.lossPct, 2),
        fmt(p.latencyMs.p50, 1),
        fmt(p.latencyMs.p99, 1),
        fmt(p.latencyMs.max, 1),
        fmt(p.serverCpuPct, 0),
        si(p.deliveriesPerCpuSec),
        rss,
        fmt(r.memory.kibPerConn, 1),
        fmt(p.genCpuPct, 0),
        notes.join(', '),
      ]);
    }
  }
  return out;
}

function roomsOf(r: RunResult): string {
  if (r.scenario === 'push' || r.scenario === 'alerts') return '-';
  const s = r.scenario === 'sweep' ? r.params.sweepOf : r.scenario;
  return s === 'hot-room' || s === 'cluster'
    ? `1 (${r.params.room ?? 'live:hot'})`
    : String(Math.min(r.params.rooms, r.params.connections));
}

/** Headers of the alerts redelivery table. */
export const REDELIVERY_HEADERS = [
  'target',
  'users',
  'unread each',
  'complete',
  'first alert p50 ms',
  'all p50 ms',
  'all p99 ms',
  'all max ms',
];

/** Rows of the alerts redelivery table: auth sent → the unread alerts received. */
export function redeliveryRows(runs: RunResult[]): string[][] {
  return runs.flatMap((r) => {
    const d = r.redelivery;
    if (!d) return [];
    return [
      [
        r.target,
        String(d.users),
        String(d.alerts),
        `${d.complete}/${d.users}`,
        fmt(d.firstMs.p50, 1),
        fmt(d.allMs.p50, 1),
        fmt(d.allMs.p99, 1),
        fmt(d.allMs.max, 1),
      ],
    ];
  });
}

/** Rows of the comparison table. */
export function comparisonRows(cs: Comparison[]): string[][] {
  const x = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)}x`);
  return cs.map((c) => [
    c.scenario,
    c.peer,
    x(c.throughput),
    x(c.efficiency),
    x(c.p99),
    x(c.memory),
    maxRateText(c),
  ]);
}

/** The max-rate ratio, marked when either side's best is only a lower bound. */
function maxRateText(c: Comparison): string {
  if (c.maxRate === null) return 'n/a';
  const r = `${c.maxRate.toFixed(2)}x`;
  if (c.maxRateLowerBound && c.peerMaxRateLowerBound) return `~${r} (both lower bounds)`;
  if (c.maxRateLowerBound) return `>= ${r}`;
  if (c.peerMaxRateLowerBound) return `<= ${r}`;
  return r;
}

/** Headers of the comparison table. */
export const COMPARISON_HEADERS = [
  'scenario',
  'vs peer',
  'deliv/s',
  'deliv per CPU-s',
  'p99 (peer/barrage)',
  'KiB/conn (peer/barrage)',
  'max rate',
];

/** Pads columns into a plain-text table. */
export function textTable(headers: string[], body: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A Markdown table. */
export function markdownTable(headers: string[], body: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The whole text report: main table, then comparisons when there are any. */
export function renderText(report: BenchReport): string {
  const parts = [textTable(HEADERS, rows(report.runs))];
  const redelivery = redeliveryRows(report.runs);
  if (redelivery.length > 0) {
    parts.push('', 'Alerts: unread alerts redelivered on connect (from auth):');
    parts.push(textTable(REDELIVERY_HEADERS, redelivery));
  }
  if (report.comparisons.length > 0) {
    parts.push('', 'Barrage / peer (higher is better for Barrage):');
    parts.push(textTable(COMPARISON_HEADERS, comparisonRows(report.comparisons)));
  }
  return parts.join('\n');
}
