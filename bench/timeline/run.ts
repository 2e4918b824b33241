/**
 * `barrage bench timeline` (issue 12): the store's numbers, on this machine, in process.
 *
 * 1. Ingest: comments/s through the engine's store step (StoreArchive: bounded queue, batched
 *    commits, every publish awaited until committed), `--ingest N` comments from 8000 concurrent
 *    writers, into PostgreSQL (`--database-url`) and the embedded store (a temp dir); with the
 *    event-loop delay p99 measured during each.
 * 2. Reads: a video of `--video N` comments (default 1 000 000 over 2 hours, loaded in batches),
 *    then `--reads` viewer-segment reads of random segments over a warm connection: p50/p99 and
 *    CPU per read, rendered from the rows and from the stored copies (migration 6) apart, and the
 *    first read of each segment after a write into it. A read is everything a cold
 *    GET /timeline/:room/:segment does but HTTP (store read, body, ETag).
 * 3. Live (live.ts): a Barrage server with the store, a hot room alone, then the same hot room
 *    while timeline comments are published over WebSocket into the same node: the hot room's
 *    p99 in both, the committed ingest rate, the server's event-loop p99 and CPU per comment.
 *
 * `--write-docs` puts the tables in docs/bench/timeline.md, which docs/benchmarks.md includes.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readSegment } from '../../src/api/routes/segment-body.js';
import { batchesInFlight, StoreArchive } from '../../src/store/archive.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SegmentCache } from '../../src/store/segment-cache.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store, StoredMessage } from '../../src/store/types.js';
import { Progress } from '../report/progress.js';
import { type LiveResult, runLive } from './live.js';
import { cpuMark, cpuPerRead, databaseBackends } from './read-cpu.js';
import { liveTable, storeTable, writeTimelineDocs } from './report.js';

const HELP = `Usage: barrage bench timeline [--database-url URL] [--ingest N] [--video N] [--reads N]

Measures the durable store (docs/storage.md): ingest through the batched writer (comments/s,
event-loop delay p99) and viewer-segment reads of a video holding --video comments (p50/p99 and
CPU per read: from the stored segment copies, rendered from the rows, and after a write),
on PostgreSQL (when --database-url is given; use a scratch database: it writes rows) and on the
embedded SQLite store (in a temp dir).

  --database-url URL   PostgreSQL to measure (default: BARRAGE_DATABASE_URL; none: embedded only)
  --ingest N           comments written through the store step [default: 200000]
  --video N            comments in the video read back [default: 1000000]
  --reads N            segment reads [default: 200]
  --density N          comments per second per segment [default: 30]
  --no-live            skip the live phases (a server, a hot room alone and beside the ingest)
  --hot-connections N  members of the hot room [default: 500]
  --hot-rate N         messages/s into the hot room [default: 100]
  --ingest-rate N[,N]  timeline comments/s offered beside it; a list runs the live phases once
                       per rate, each on a fresh server [default: 20000]
  --duration S         seconds of each live phase [default: 10]
  --pin                live phases: the server on CPU 0, the load generators on CPU 1 (taskset)
  --write-docs         write docs/bench/timeline.md and regenerate docs/benchmarks.md
`;

/** One store's in-process numbers. */
export interface Row {
  store: string;
  ingestPerS: number;
  meanBatch: number;
  loopP99Ms: number;
  segmentRows: number;
  /** Segment reads rendered from the rows, and from the stored copies. */
  fromRows: ReadRow;
  copies: ReadRow;
  /** The first read of a segment after a write into it (render from rows, keep the copy). */
  changedP50Ms: number;
  changedMaxMs: number;
  /** A hit of the node's in-memory segment cache, p99. */
  cacheHitP99Ms: number;
}

/** Latency and CPU of one kind of segment read. */
export interface ReadRow {
  p50Ms: number;
  p99Ms: number;
  /** Mean CPU per read: this process (client, SQLite worker), and PostgreSQL's backends (or null). */
  cpuMs: number;
  dbCpuMs: number | null;
}

const ms1 = (x: number) => Math.round(x * 10) / 10;
const readRow = (r: { p50: number; p99: number; cpuMs: number; dbCpuMs: number | null }) => ({
  p50Ms: ms1(r.p50),
  p99Ms: ms1(r.p99),
  cpuMs: r.cpuMs,
  dbCpuMs: r.dbCpuMs,
});

function comment(room: string, i: number, lengthMs: number, startMs = 0): StoredMessage {
  return {
    room,
    id: `bench.${i}`,
    epoch: 'bench',
    offset: i,
    t: startMs + Math.floor(Math.random() * lengthMs),
    ts: Date.now(),
    from: `viewer${i % 5000}`,
    priority: i % 100 === 0 ? 2 : 0,
    data: `{"text":"comment ${i} from the bench","color":16777215}`,
  };
}

async function ingest(
  store: Store,
  count: number,
): Promise<{ perS: number; meanBatch: number; loopP99Ms: number }> {
  const archive = new StoreArchive(store, {
    timelineRooms: ['vod:*'],
    storedRooms: [],
    queueSize: 10_000,
    flushMs: 20,
    // As a server configures it for this store.
    maxInFlight: batchesInFlight(store.kind),
  });
  const room = `vod:ingest-${Date.now()}`;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let next = 0;
  const started = performance.now();
  const writer = async () => {
    while (next < count) {
      const i = next++;
      const ticket = archive.reserve();
      if (!ticket) {
        await new Promise((r) => setTimeout(r, 1));
        next--;
        continue;
      }
      await ticket.commit(comment(room, i, 7_200_000));
    }
  };
  // As many writers as the queue holds: every publisher awaits its commit, as clients do.
  await Promise.all(Array.from({ length: 8000 }, writer));
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  const stats = archive.stats();
  return {
    perS: count / seconds,
    meanBatch: stats.meanBatch,
    loopP99Ms: loop.percentile(99) / 1e6,
  };
}

/** What the bench reads of a segment body. */
type Segment = { comments: unknown[] };

async function reads(
  store: Store,
  url: string | undefined,
  video: number,
  count: number,
  density: number,
) {
  const room = `vod:video-${Date.now()}`;
  const lengthMs = 7_200_000;
  for (let i = 0; i < video; i += 5000) {
    const batch: StoredMessage[] = [];
    for (let j = i; j < Math.min(video, i + 5000); j++) batch.push(comment(room, j, lengthMs));
    await store.append(batch);
  }
  const segments = lengthMs / 360_000;
  // A read is what a cold GET /timeline/:room/:segment does but HTTP: the store's rendered
  // segment, the body bytes and their ETag (src/api/routes/segment-body.ts), either rendered
  // from the rows (what a read of a segment changed since its copy costs) or from the stored copy.
  const read = (s: number, fromRows: boolean) =>
    readSegment(store, { room, segment: s, segmentMs: 360_000, density }, fromRows);
  // A first read opens the store's connections, so their backends can be found and measured.
  const first = await read(0, true);
  const rows = (JSON.parse(Buffer.from(first.body).toString()) as Segment).comments.length;
  const backends = await databaseBackends(url);
  /** `count` reads of random segments: latency percentiles and CPU per read. */
  const timedReads = async (fromRows: boolean) => {
    const lat: number[] = [];
    const cpu0 = cpuMark(backends);
    for (let k = 0; k < count; k++) {
      const s = Math.floor(Math.random() * segments);
      const t0 = performance.now();
      await read(s, fromRows);
      lat.push(performance.now() - t0);
    }
    const [cpuMs, dbCpuMs] = cpuPerRead(cpu0, cpuMark(backends), count);
    return { p50: q(lat, 0.5), p99: q(lat, 0.99), cpuMs, dbCpuMs };
  };
  const fromRows = await timedReads(true);
  // A viewer's read of a segment written since its copy: one comment into each segment, then
  // the read that renders it from the rows and keeps the new copy.
  const changed: number[] = [];
  for (let s = 0; s < segments; s++) {
    await store.append([comment(room, video + s, 360_000, s * 360_000)]);
    const t0 = performance.now();
    await read(s, false);
    changed.push(performance.now() - t0);
  }
  const copies = await timedReads(false);
  // The same reads through the node's rendered-segment cache (as GET /timeline serves them):
  // every segment once (misses), then `count` random reads (hits).
  const cache = new SegmentCache({ maxBytes: 64 * 1024 * 1024, segmentMs: 360_000, ttlMs: 3.6e6 });
  const hits: number[] = [];
  for (let s = 0; s < segments; s++) await cache.get(room, s, () => read(s, false));
  for (let k = 0; k < count; k++) {
    const s = Math.floor(Math.random() * segments);
    const t0 = performance.now();
    await cache.get(room, s, () => read(s, false));
    hits.push(performance.now() - t0);
  }
  return {
    rows,
    fromRows,
    copies,
    changedP50: q(changed, 0.5),
    changedMax: q(changed, 1),
    hitP99: q(hits, 0.99),
  };
}

/** The `p` quantile of `l` (sorts it). */
function q(l: number[], p: number): number {
  l.sort((a, b) => a - b);
  return l[Math.min(l.length - 1, Math.floor(p * l.length))]!;
}

/** Runs the timeline bench; resolves with the exit code. */
export async function runTimelineBench(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'database-url': { type: 'string' },
      ingest: { type: 'string', default: '200000' },
      video: { type: 'string', default: '1000000' },
      reads: { type: 'string', default: '200' },
      density: { type: 'string', default: '30' },
      'no-live': { type: 'boolean', default: false },
      'hot-connections': { type: 'string', default: '500' },
      'hot-rate': { type: 'string', default: '100' },
      'ingest-rate': { type: 'string', default: '20000' },
      duration: { type: 'string', default: '10' },
      pin: { type: 'boolean', default: false },
      'write-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const url = v['database-url'] ?? process.env.BARRAGE_DATABASE_URL;
  const n = (s: string | undefined) => Number(s);
  const startedAt = new Date().toISOString();
  const load = loadAverage();
  const rows: Row[] = [];
  const live: { store: string; result: LiveResult }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'barrage-bench-store-'));
  try {
    const kinds: [string, () => Store, string[]][] = [
      [
        'embedded (SQLite)',
        () => new SqliteStore(join(dir, 'inproc')),
        ['--store', 'embedded', '--data-dir', join(dir, 'live')],
      ],
    ];
    if (url) {
      kinds.unshift([
        'PostgreSQL',
        () => new PostgresStore({ url }),
        ['--store', 'postgres', '--database-url', url],
      ]);
    }
    for (const [name, make, storeArgs] of kinds) {
      const store = make();
      await store.start();
      process.stderr.write(`${name}: ingest…\n`);
      const a = await ingest(store, n(v.ingest));
      process.stderr.write(`${name}: loading a ${v.video}-comment video, then reads…\n`);
      const r = await reads(
        store,
        name === 'PostgreSQL' ? url : undefined,
        n(v.video),
        n(v.reads),
        n(v.density),
      );
      await store.close();
      rows.push({
        store: name,
        ingestPerS: Math.round(a.perS),
        meanBatch: Math.round(a.meanBatch),
        loopP99Ms: Math.round(a.loopP99Ms * 10) / 10,
        segmentRows: r.rows,
        fromRows: readRow(r.fromRows),
        copies: readRow(r.copies),
        changedP50Ms: ms1(r.changedP50),
        changedMaxMs: ms1(r.changedMax),
        cacheHitP99Ms: Math.round(r.hitP99 * 1000) / 1000,
      });
      if (v['no-live']) continue;
      const rates = (v['ingest-rate'] ?? '20000').split(',').map(n);
      for (const rate of rates) {
        const result = await runLive({
          storeArgs,
          connections: n(v['hot-connections']),
          rate: n(v['hot-rate']),
          durationMs: n(v.duration) * 1000,
          ingestRate: rate,
          serverCpus: v.pin ? '0' : null,
          clientCpus: v.pin ? '1' : null,
          progress: new Progress(true),
        });
        live.push({ store: rates.length > 1 ? `${name}, ${rate}/s offered` : name, result });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const text = [storeTable(rows), ...(live.length > 0 ? ['', liveTable(live)] : [])].join('\n');
  process.stdout.write(`${text}\n`);
  if (v['write-docs']) {
    const command = `barrage bench timeline ${argv.map((a) => (a.startsWith('postgres') ? 'postgres://…' : a)).join(' ')}`;
    const path = writeTimelineDocs({ startedAt, load, command, rows, live });
    process.stderr.write(`wrote ${path}\n`);
  }
  return 0;
}

/** The 1-minute load average (other work on the machine skews every figure but CPU per row). */
function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
