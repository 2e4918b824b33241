/**
 * Writes docs/benchmarks.md (machine, command, tables, methodology) and its SVG charts in
 * docs/bench/ from one bench report, plus the raw JSON as docs/bench/latest.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../scenarios/types.js';
import { repoRoot } from '../servers/spawn.js';
import { barrageServeArgs } from '../servers/targets.js';
import { barChart, lineChart } from './svg.js';
import {
  type BenchReport,
  COMPARISON_HEADERS,
  compare,
  comparisonRows,
  HEADERS,
  mainPhase,
  markdownTable,
  NOISY_PCT,
  REDELIVERY_HEADERS,
  redeliveryRows,
  rows,
} from './table.js';

/** One chart: its file name (in docs/bench/), alt text and SVG text. */
export interface Chart {
  file: string;
  alt: string;
  svg: string;
}

const PHASED = ['hot-room', 'many-rooms', 'push', 'publish', 'cluster', 'sweep'];

/** The charts a report yields (only those it has data for). */
export function charts(report: BenchReport): Chart[] {
  const ok = report.runs.filter((r) => !r.error);
  // One series per kind of server: a cluster run ("barrage x3") counts as barrage.
  const targets = [...new Set(ok.map((r) => r.kind))];
  const scenarios = PHASED.filter((s) => ok.some((r) => r.scenario === s && r.phases.length > 0));
  const pick = (s: string, t: string): RunResult | undefined =>
    ok.find((r) => r.scenario === s && r.kind === t);
  const out: Chart[] = [];
  const bars = (
    file: string,
    title: string,
    unit: string,
    f: (r: RunResult) => number | null,
    log = false,
  ): void => {
    const series = targets.map((t) => ({
      name: t,
      values: scenarios.map((s) => {
        const r = pick(s, t);
        return r ? f(r) : null;
      }),
    }));
    if (series.some((s) => s.values.some((v) => v !== null))) {
      out.push({ file, alt: title, svg: barChart(title, unit, scenarios, series, log) });
    }
  };
  if (scenarios.length > 0) {
    bars(
      'efficiency.svg',
      'Deliveries per server CPU-second (higher is better)',
      'deliveries / CPU-s',
      (r) => mainPhase(r)?.deliveriesPerCpuSec ?? null,
    );
    bars(
      'latency-p99.svg',
      'Latency p99, publish to delivery (ms, log scale, lower is better)',
      'ms',
      (r) => mainPhase(r)?.latencyMs.p99 ?? null,
      true,
    );
    bars(
      'server-cpu.svg',
      'Server CPU (% of one core, lower is better)',
      '% CPU',
      (r) => mainPhase(r)?.serverCpuPct ?? null,
    );
  }
  const memScen = ok.some((r) => r.scenario === 'idle')
    ? ['idle']
    : [...new Set(ok.map((r) => r.scenario))].slice(0, 1);
  const memSeries = targets.map((t) => ({
    name: t,
    values: memScen.map((s) => pick(s, t)?.memory.kibPerConn ?? null),
  }));
  if (memSeries.some((s) => s.values.some((v) => v !== null))) {
    out.push({
      file: 'memory.svg',
      alt: 'Server memory per connection',
      svg: barChart(
        'Server memory per connection (KiB, lower is better)',
        'KiB / connection',
        memScen.map((s) => `${s} N=${pick(s, targets[0] ?? '')?.connections.opened ?? ''}`),
        memSeries,
      ),
    });
  }
  const sweeps = ok.filter((r) => r.scenario === 'sweep' && r.phases.length > 0);
  if (sweeps.length > 0) {
    out.push({
      file: 'sweep.svg',
      alt: 'Sweep: delivered vs offered rate',
      svg: lineChart(
        'Sweep: deliveries/s of passing steps as the publish rate rises (log-log)',
        'offered messages/s',
        'deliveries/s',
        sweeps.map((r) => ({
          name: r.params.room ? `${r.target} ${r.params.room}` : r.target,
          points: r.phases
            .filter((p) => p.ok)
            .map((p) => [p.rate, p.deliveriesPerSec] as [number, number]),
        })),
        true,
      ),
    });
  }
  return out;
}

const METHOD = `## How it is measured

- Each scenario starts a fresh server as a child process (\`barrage serve\`, or a peer from
  \`dist/bench/peers/\`), so its CPU (utime+stime from \`/proc/PID/stat\`) and resident memory
  (\`VmRSS\` from \`/proc/PID/status\`) are its own. KiB/conn = (RSS with all clients joined -
  RSS before) / connections.
- Receivers are \`ws\` clients (permessage-deflate off) that join their rooms and wait for the
  confirmation, then read their frames straight off the socket (\`bench/loadgen/raw-frames.ts\`:
  unmasked server frames; anything unusual closes the connection) while writing through \`ws\`;
  publishers are separate connections sending \`{"t":<ms>,"s":seq,"p":id,"x":pad}\`
  at a fixed total rate. A delivery is a line carrying \`"t":\`; latency = receive time - \`t\`
  (same clock, one machine) of a frame's first message, the oldest of a merged frame, counted for
  each of its deliveries (an upper bound for the later ones). Loss = 1 - received / (accepted publishes x room members).
- push and publish are \`POST /api/push\` and \`/api/publish\` over node's keep-alive
  \`http.Agent\` (32 sockets, one call in flight on each, no pipelining), as a backend calls.
  The generator opens its sockets (256 for alerts) before the warm-up and uses them in turn, as
  wrk opens its connections first: a Node server under load accepts one new connection per turn
  of its event loop ([performance.md](performance.md#one-cpu)), so a call that had to open one
  would measure that queue.
  Each runs two phases: the calls to connected users (rooms with members), then the same calls
  to users (rooms) with no connection, marked API ALONE: its "srv µs/call" is the HTTP API's
  own server CPU per call with no delivery; the first row's "of which deliveries" is the
  difference. Every phase of push, publish and alerts follows a warm-up (\`--warmup\`, 5 s): the
  same calls at the same rate over the same keep-alive sockets, not measured, so the window
  measures a running service rather than the generator's sockets opening and code not yet
  optimized (wrk2 does the same); the warm-up's own p99 is in the note.
- A Node server pinned to one CPU (\`--pin\`: Barrage and the Node peers alike) runs with
  \`--single-threaded-gc\`, as [performance.md](performance.md#one-cpu) advises for a node on one
  CPU: there V8's helper threads take the event loop's core in time slices and stall it.
- "gen CPU%" is the load generator's own CPU; a phase whose busiest generator process is near a
  full core is flagged CLIENT-BOUND: its throughput is the client's limit, not the server's.
- Peers: **ws-hub** is a plain \`ws\` server written the way a typical Node developer writes one
  (rooms as Sets, \`JSON.stringify\` per message per client); **socketio** is Socket.IO 4 with
  \`io.to(room).emit('message', ...)\`, WebSocket transport only. The generator speaks Socket.IO's
  wire format directly so every target costs the client the same. **c-epoll** speaks the ws hub's
  protocol from one thread of C on epoll (each message framed once, one \`write()\` per member):
  a floor for the cost of a delivery on this machine, not a product (no TLS, compression or
  auth); the bench builds it with \`cc -O2\` and skips it, saying so, where there is no \`cc\`.
- Barrage runs with its default room policies: \`live:*\` rooms lossy, every other room (e.g.
  \`r0\` with \`--room r0\`) reliable, both merged adaptively up to 50 ms once members x rate
  passes 20 000 deliveries/s, which trades up to one window of latency for far fewer frames;
  benches raise the publish rate limit and connections-per-IP limit so the limits do not shape
  the numbers.
- sweep: the rate is multiplied by the sweep factor each step (or takes the \`--sweep-rates\`
  list: 1 to 1600 messages/s into one room of 5000 for \`npm run bench:docs\`, once in \`r0\`, a
  room with no policy of its own, and once in \`live:hot\`) until loss or p99 exceed their
  limits (or the publisher falls behind); each step's row shows its loss, p99, server CPU and
  deliveries per CPU-second; "max rate" is the largest delivery rate of a passing step.`;

const SSE = `## Server-Sent Events beside WebSocket

The \`barrage-sse\` target is Barrage with its receivers on Server-Sent Events (\`GET /sse\`,
read with node:http, deliveries counted from whole events) and its publishers on WebSocket, so
idle KiB per connection and hot-room deliveries per server CPU-second of SSE members stand beside
the WebSocket ones of the same run (idle, hot-room and many-rooms; not push or sweep). Keep the
receivers in worker processes (\`--clients-procs 1\` or more). The latest figures, their command
and conditions are in [sse.md](sse.md#costs).`;

const ALERTS = `The \`alerts\` scenario ([alerts.md](alerts.md)) drives Barrage only (the peers keep
no inbox), once per store: the embedded store in a temp directory and PostgreSQL (\`--database-url\`,
or a scratch server started from /usr/lib/postgresql with fsync on, pinned to the CPUs the server
is not pinned to: with --pin CPU 1, beside the load generator, as PostgreSQL is another machine in
production; a --database-url server runs where its owner put it). N/2 users have two devices
each; the first device of each user acknowledges every alert it gets (its other device then gets
\`read\`). Pushes are \`POST /api/push\` with \`"persist": true\` (no idempotency \`id\`) to random
users: the alert is delivered while the store commits, and the API answers after the commit.
**p50/p99/max are from the API call to the first device of the user** (the call's time includes
waiting for one of the publisher's 256 keep-alive sockets, so a slow commit shows here too),
measured after the warm-up; every device's p99 and the warm-up's are in the note. Server CPU counts the Barrage process only, not PostgreSQL.
Redelivery: users who are offline get A stored alerts each, then one device connects; the time
runs from sending \`auth\` to the last of the A alerts, users one after the other while the N
connections stay open.`;

/** The timeline store's section: its own bench's latest tables when it wrote them. */
function timelineSection(tables: string | null): string {
  return [
    '## Timeline store',
    '',
    'The durable store of timeline rooms ([storage.md](storage.md)) has its own scenario, run apart',
    'from the load runs above: `barrage bench timeline --database-url postgres://... --pin',
    '--write-docs` (a scratch database: it writes rows). What it measures and why is in',
    '[storage.md](storage.md#measured).',
    '',
    tables ?? 'Not run yet on this machine.',
  ].join('\n');
}

const RUN = `## Run it yourself

\`\`\`sh
npm run build
node dist/src/cli/index.js bench --help                        # every flag and its default
node dist/src/cli/index.js bench hot-room -n 2000 --rate 200 --peers --pin
node dist/src/cli/index.js bench sweep --peers --pin --clients-procs 1
node dist/src/cli/index.js bench sweep -n 5000 --room r0,live:hot --sweep-rates 1,2,5,10,20,50,100,200,400,800,1600 --pin --clients-procs 1
node dist/src/cli/index.js bench cluster --nodes 3             # spawns redis-server on a free port
node dist/src/cli/index.js bench hot-room --json report.json   # machine-readable report
node dist/src/cli/index.js bench alerts --pin --clients-procs 1 --write-docs --merge-docs
\`\`\`

On a machine shared with other work, compare ratios and deliveries per CPU-second rather than
absolute rates, and rerun phases marked NOISY. SERVER STARVED / GENERATOR STARVED: that
process's main thread waited for a CPU (run queue, /proc schedstat) over 20 % of the phase, so
its latency is the machine's.`;

/** The Markdown text of docs/benchmarks.md. */
export function markdown(
  report: BenchReport,
  chartList: Chart[],
  timeline: string | null = null,
): string {
  const parts = [
    '# Benchmarks',
    '',
    'Generated by `barrage bench` (`npm run bench:docs`); do not edit by hand, run it again.',
    '',
    `- Date: ${report.startedAt} to ${report.finishedAt}`,
    `- Machine: ${machineLine(report)}`,
    `- Pinning: server ${report.pinning.serverCpus ? `taskset -c ${report.pinning.serverCpus}` : 'not pinned'}${flagsNote(report.pinning.nodeFlags)}, load generator ${report.pinning.clientCpus ? `taskset -c ${report.pinning.clientCpus}` : 'not pinned'}`,
    `- Command: \`${report.command}\``,
    `- Load average when it started: ${report.loadAvgAtStart} (other work on the machine; phases where it took over ${NOISY_PCT}% of a core are marked NOISY)`,
    '',
    '## Results',
    '',
    markdownTable(HEADERS, rows(report.runs)),
    '',
    ...provenance(report),
  ];
  const redelivery = redeliveryRows(report.runs);
  if (redelivery.length > 0) {
    parts.push(
      '## Alerts',
      '',
      ALERTS,
      '',
      'Unread alerts redelivered on connect (from `auth` to the last alert):',
      '',
      markdownTable(REDELIVERY_HEADERS, redelivery),
      '',
    );
  }
  if (report.comparisons.length > 0) {
    parts.push(
      '## Barrage compared with the peers',
      '',
      'Ratios above 1 favour Barrage. A sweep is summed up by each target\'s best step, so its ratios compare different offered rates; "max rate" is the one to read there.',
      '',
    );
    parts.push(markdownTable(COMPARISON_HEADERS, comparisonRows(report.comparisons)), '');
  }
  if (chartList.length > 0) {
    parts.push('## Charts', '');
    for (const c of chartList) parts.push(`![${c.alt}](bench/${c.file})`, '');
  }
  const serve = barrageServeArgs(0, [], null).join(' ').replace('--port 0', '--port <free port>');
  parts.push(
    METHOD,
    '',
    `Barrage is started as \`barrage ${serve}\` (plus any --serve-arg; cluster nodes add --redis-url and --node-id).`,
    '',
    SSE,
    '',
    timelineSection(timeline?.trim() ?? null),
    '',
    RUN,
    '',
    'Raw numbers: [bench/latest.json](bench/latest.json).',
    '',
  );
  return parts.join('\n');
}

/** The machine a report ran on, as the docs name it. */
function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memMiB} MiB RAM, Linux ${m.kernel}, Node ${m.node}`;
}

/** Lines naming the runs measured by another command than the report's (`--merge-docs`). */
function provenance(report: BenchReport): string[] {
  const other = new Map<string, string[]>();
  for (const r of report.runs) {
    const m = r.measured;
    if (!m || m.command === report.command) continue;
    // The machine too when it is not this report's: the figures of two machines differ.
    const where =
      m.machine === undefined
        ? ', machine not recorded'
        : m.machine === machineLine(report)
          ? ''
          : `, on ${m.machine}`;
    const key = `\`${m.command}\` (${m.at}${where})`;
    const list = other.get(key) ?? [];
    if (!list.includes(r.scenario)) list.push(r.scenario);
    other.set(key, list);
  }
  if (other.size === 0) return [];
  const lines = ['Rows measured by other runs (kept by `--merge-docs`):', ''];
  for (const [key, scenarios] of other) lines.push(`- ${scenarios.join(', ')}: ${key}`);
  return [...lines, ''];
}

/**
 * The report plus the runs of the docs' bench/latest.json whose scenario it did not measure,
 * each run marked with the command and date that measured it.
 */
export function mergeWithDocs(report: BenchReport, docsDir: string | null): BenchReport {
  // A run keeps the command, date and machine that measured it.
  const stamp = (r: RunResult, of: BenchReport): RunResult => ({
    ...r,
    measured: r.measured ?? { at: of.startedAt, command: of.command, machine: machineLine(of) },
  });
  const path = join(docsDir ?? join(repoRoot(), 'docs'), 'bench', 'latest.json');
  if (!existsSync(path)) return report;
  const old = JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
  const measured = new Set(report.runs.map((r) => r.scenario));
  const runs = [
    ...old.runs.filter((r) => !measured.has(r.scenario)).map((r) => stamp(r, old)),
    ...report.runs.map((r) => stamp(r, report)),
  ];
  return { ...report, runs, comparisons: compare(runs) };
}

/**
 * Formats a JSON file with the repository's Biome when it is installed, so that the committed
 * report passes `biome check`; without Biome the file stays as JSON.stringify wrote it.
 */
function formatJson(path: string): void {
  const biome = join(repoRoot(), 'node_modules', '.bin', 'biome');
  if (!existsSync(biome)) return;
  try {
    execFileSync(biome, ['format', '--write', path], {
      stdio: 'ignore',
      cwd: repoRoot(),
      timeout: 30_000,
    });
  } catch {
    // Formatting is cosmetic: keep the unformatted file.
  }
}

/** Writes benchmarks.md, bench/*.svg and bench/latest.json under `docsDir`; returns the .md path. */
export function writeDocs(report: BenchReport, docsDir: string | null): string {
  const dir = docsDir ?? join(repoRoot(), 'docs');
  const chartDir = join(dir, 'bench');
  mkdirSync(chartDir, { recursive: true });
  const list = charts(report);
  for (const c of list) writeFileSync(join(chartDir, c.file), `${c.svg}\n`);
  const jsonPath = join(chartDir, 'latest.json');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  formatJson(jsonPath);
  const path = join(dir, 'benchmarks.md');
  const timeline = join(chartDir, 'timeline.md');
  const tables = existsSync(timeline) ? readFileSync(timeline, 'utf8') : null;
  writeFileSync(path, markdown(report, list, tables));
  return path;
}

/** The Node flags the run started its servers with, as the Pinning line shows them. */
function flagsNote(flags: readonly string[] | undefined): string {
  return flags && flags.length > 0
    ? ` (Node servers: ${flags.map((f) => `\`${f}\``).join(' ')})`
    : '';
}
