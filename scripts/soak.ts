/**
 * Soak: starts `barrage serve` as a child process and, for N minutes, churns connections, joins
 * and publishes against it while sampling its memory; then checks that nothing leaked and nothing
 * was lost silently.
 *
 *   npx tsx scripts/soak.ts --minutes N [--clients 60] [--rooms 12] [--rate 200]
 *                           [--rss-growth-mb 64] [--heap-growth-mb 32]
 *                           [--redis-cluster [--failover-every-s 180] [--node-timeout-ms 2000]]
 *
 * With `--redis-cluster` it starts a Redis Cluster of 3 masters with one replica each and two
 * nodes on it (publishers on the first, auditors rejoining on either, churners on both), and kills
 * one master every `--failover-every-s` seconds (shards in turn; the killed node comes back as the
 * replica of its successor). A resync (`recovered: false`) is then allowed and counted, a silent gap
 * never is; refused publishes and each failover's promotion time are reported.
 *
 * Fails (exit 1) when, after warm-up (the first fifth of the run, at least 10 s), the median RSS
 * or heap of the last third of the samples exceeds that of the first third by more than the
 * bound; when an auditor of a reliable room saw a gap, a duplicate or an unrecovered rejoin, or
 * lacks an offset at the end; when the lossy rooms' misses exceed the counted drops; when the
 * server's messagesIn differs from the publishes it acknowledged; when connections or rooms are
 * left after every client closed; or on any 1011 close or internal error. Prints one JSON summary.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { Subscriber } from '../test/hostile/subscriber.js';
import {
  metrics,
  nodeStats,
  type ServedProcess,
  serveProcess,
  sleep,
} from '../test/hostile/support.js';
import { Failovers } from './soak-failovers.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    clients: { type: 'string', default: '60' },
    rooms: { type: 'string', default: '12' },
    rate: { type: 'string', default: '200' },
    'rss-growth-mb': { type: 'string', default: '64' },
    'heap-growth-mb': { type: 'string', default: '32' },
    'redis-cluster': { type: 'boolean', default: false },
    'failover-every-s': { type: 'string', default: '180' },
    'node-timeout-ms': { type: 'string', default: '2000' },
  },
});
const REDIS = values['redis-cluster'] === true;
const FAILOVER_EVERY = Number(values['failover-every-s']) * 1000;
const NODE_TIMEOUT = Number(values['node-timeout-ms']);
const MINUTES = Number(values.minutes);
const CLIENTS = Number(values.clients);
const ROOMS = Number(values.rooms);
const RATE = Number(values.rate);
const RSS_GROWTH = Number(values['rss-growth-mb']) * 2 ** 20;
const HEAP_GROWTH = Number(values['heap-growth-mb']) * 2 ** 20;
const DURATION = Math.round(MINUTES * 60_000);
const WARMUP = Math.max(10_000, DURATION / 5);

/** Half the rooms are reliable (`chat:`), half lossy (`live:`, merged every 50 ms). */
const rooms = Array.from({ length: ROOMS }, (_, i) => (i % 2 ? `live:soak${i}` : `chat:soak${i}`));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

interface Sample {
  at: number;
  rss: number;
  heap: number;
  connections: number;
  loopP99: number;
}

const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
};

/** A short-lived client: joins 1-3 rooms, stays a while, leaves (1 in 10 abruptly). */
function churner(server: ServedProcess, live: Set<WebSocket>): void {
  const ws = new WebSocket(server.wsUrl, { perMessageDeflate: false });
  live.add(ws);
  ws.on('error', () => {});
  ws.on('close', () => live.delete(ws));
  ws.on('message', (data) => {
    const text = String(data);
    if (text.startsWith('{"type":"ping"')) ws.send('{"type":"pong"}');
    if (!text.startsWith('{"type":"welcome"')) return;
    const n = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < n; i++) {
      const join: Record<string, unknown> = { type: 'join', room: pick(rooms), id: i };
      if (Math.random() < 0.3) join.history = 5;
      ws.send(JSON.stringify(join));
    }
    const stay = 500 + Math.random() * 4500;
    setTimeout(() => (Math.random() < 0.1 ? ws.terminate() : ws.close()), stay).unref();
  });
}

/** Publishes at `rate` per second until `until`, 50 ms ticks; counts acknowledged and refused. */
async function publisher(
  server: ServedProcess,
  rate: number,
  until: number,
): Promise<{ acked: number; refused: number }> {
  const ws = new WebSocket(server.wsUrl, { perMessageDeflate: false });
  let acked = 0;
  let refused = 0;
  let answered = 0;
  ws.on('error', () => {});
  ws.on('message', (data) => {
    for (const line of String(data).split('\n')) {
      if (line.startsWith('{"type":"ok"')) acked++;
      if (line.startsWith('{"type":"error"')) refused++;
      if (line.startsWith('{"type":"ok"') || line.startsWith('{"type":"error"')) answered++;
      if (line.startsWith('{"type":"ping"')) ws.send('{"type":"pong"}');
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let sent = 0;
  let carry = 0;
  for (let tick = 0; Date.now() < until && tick < 1_000_000; tick++) {
    carry += rate / 20;
    const n = Math.floor(carry);
    carry -= n;
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      const data = { t: Date.now(), s: 'soak' };
      ws.send(JSON.stringify({ type: 'publish', room: pick(rooms), data, id: ++sent }));
    }
    // Wait for this tick's answers (bounded), then for the rest of the 50 ms.
    for (let i = 0; i < 200 && answered < sent; i++) await sleep(5);
    await sleep(Math.max(0, 50 - (Date.now() - started)));
  }
  for (let i = 0; i < 1000 && answered < sent; i++) await sleep(5);
  ws.close();
  return { acked, refused };
}

async function sample(server: ServedProcess): Promise<Sample> {
  const [stats, m] = await Promise.all([nodeStats(server.url), metrics(server.url)]);
  let heap = 0;
  for (const [key, value] of m)
    if (key.startsWith('barrage_nodejs_heap_size_used_bytes')) heap = value;
  return {
    at: Date.now(),
    rss: stats.rssBytes,
    heap,
    connections: stats.connections,
    loopP99: stats.eventLoopP99Ms,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<number> {
  const failovers = REDIS ? await Failovers.start(NODE_TIMEOUT) : null;
  const clusterArgs = (id: string) =>
    failovers ? ['--redis-cluster', failovers.seeds.join(','), '--node-id', id] : [];
  const serverArgs = [
    '--publish-rate',
    '100000',
    '--publish-burst',
    '100000',
    '--command-rate',
    '100000',
    '--command-burst',
    '100000',
    '--history-size',
    '1000',
    '--heartbeat-ms',
    '5000',
    '--room-policies',
    'live:*=50/lossy',
    '--max-connections-per-ip',
    '100000',
  ];
  const server = await serveProcess([...serverArgs, ...clusterArgs('soak1')]);
  // With Redis: a second node, where auditors and half the churners go.
  const other = failovers ? await serveProcess([...serverArgs, ...clusterArgs('soak2')]) : server;
  const servers = failovers ? [server, other] : [server];
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await failovers?.stop();
  };
  const interrupted = () => {
    process.stderr.write('soak: interrupted, stopping the server\n');
    void stopAll().then(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const started = Date.now();
  const until = started + DURATION;
  const live = new Set<WebSocket>();
  const auditors = rooms.map(
    (room) => new Subscriber(() => [other.wsUrl, server.wsUrl, other.wsUrl], room),
  );
  try {
    await Promise.all(auditors.map((a) => a.start()));
    const dropsBefore = await totalDrops(servers);
    const publishing = Promise.all(
      Array.from({ length: 4 }, () => publisher(server, RATE / 4, until)),
    );
    const failing = failovers?.run(FAILOVER_EVERY, until);
    const samples: Sample[] = [];
    const otherSamples: Sample[] = [];
    let churned = 0;
    for (let tick = 0; Date.now() < until && tick < 1_000_000; tick++) {
      // Keep about CLIENTS churners alive; each tick replaces the ones that left.
      while (live.size < CLIENTS) {
        churner(servers[churned % servers.length]!, live);
        churned++;
      }
      if (tick % 20 === 0) {
        samples.push(await sample(server));
        if (other !== server) otherSamples.push(await sample(other));
      }
      // An auditor bounces now and then, to rejoin with `since`.
      if (tick % 50 === 25) pick(auditors).bounce();
      await sleep(100);
    }
    const published = await publishing;
    const acked = published.reduce((n, p) => n + p.acked, 0);
    const refused = published.reduce((n, p) => n + p.refused, 0);
    const failed = (await failing) ?? [];
    for (const ws of live) ws.close();

    // Reliable rooms: every auditor has every offset. Lossy rooms: misses are counted drops.
    const finals = new Map<string, number>();
    for (const room of rooms) {
      const res = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}`);
      finals.set(room, ((await res.json()) as { offset: number }).offset);
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && auditors.some((a) => a.lastOffset < finals.get(a.room)!))
      await sleep(50);
    let lossyMisses = 0;
    let resyncs = 0;
    for (const a of auditors) {
      const final = finals.get(a.room)!;
      const offsets = a.offsets();
      check(a.duplicates === 0, `${a.room}: ${a.duplicates} duplicates`);
      // A failover may lose what was acknowledged just before it: the client must be told.
      const told = failovers !== null && (a.epochChanges > 0 || a.unrecovered > 0);
      if (a.room.startsWith('chat:')) resyncs += a.unrecovered;
      if (!failovers) check(a.epochChanges === 0, `${a.room}: history lost`);
      if (a.room.startsWith('chat:')) {
        check(a.gaps.length === 0, `${a.room}: silent gaps ${JSON.stringify(a.gaps.slice(0, 5))}`);
        if (!failovers)
          check(a.unrecovered === 0, `${a.room}: ${a.unrecovered} unrecovered rejoins`);
        if (!told)
          check(offsets.length === final, `${a.room}: ${offsets.length} of ${final} offsets`);
      } else {
        lossyMisses += final - offsets.length;
      }
    }
    const end = await nodeStats(server.url);
    const drops = (await totalDrops(servers)) - dropsBefore;
    check(lossyMisses <= drops, `lossy rooms: ${lossyMisses} misses but ${drops} counted drops`);
    check(end.messagesIn === acked, `server counted ${end.messagesIn} in, ${acked} acknowledged`);
    const closes: Record<string, number> = {};
    for (const s of servers) {
      for (const [code, n] of Object.entries((await nodeStats(s.url)).closes)) {
        closes[code] = (closes[code] ?? 0) + n;
      }
    }
    check(!closes['1011'], `${closes['1011']} internal-error closes`);
    for (const a of auditors) a.stop();
    for (const s of servers) {
      const emptyBy = Date.now() + 10_000;
      let after = await nodeStats(s.url);
      while (Date.now() < emptyBy && (after.connections > 0 || after.rooms > 0)) {
        await sleep(100);
        after = await nodeStats(s.url);
      }
      check(after.connections === 0, `${after.connections} connections left`);
      check(after.rooms === 0, `${after.rooms} rooms left`);
    }
    const memory = [memoryOf('node1', samples, started), memoryOf('node2', otherSamples, started)];
    for (const s of servers) check(s.alive(), 'server died');

    const summary = {
      soak: failures.length === 0 ? 'pass' : 'fail',
      minutes: MINUTES,
      redisCluster: failovers ? { nodeTimeoutMs: NODE_TIMEOUT, failovers: failed } : undefined,
      connectionsOpened: churned,
      published: acked,
      refusedPublishes: refused,
      resyncsOfReliableAuditors: resyncs,
      messagesOut: end.messagesOut,
      drops,
      lossyMisses,
      closes,
      memory: memory.filter((m) => m.samples > 0),
      boundsMiB: { rssGrowth: mib(RSS_GROWTH), heapGrowth: mib(HEAP_GROWTH) },
      failures,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    for (const a of auditors) a.stop();
    for (const ws of live) ws.terminate();
    await stopAll();
  }
}

const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

/** Every server's drops, summed over reasons. */
async function totalDrops(servers: ServedProcess[]): Promise<number> {
  let n = 0;
  for (const s of servers) {
    for (const v of Object.values((await nodeStats(s.url)).drops)) n += v;
  }
  return n;
}

/** One node's memory after warm-up (last third against first third), checked against the bounds. */
function memoryOf(node: string, samples: Sample[], started: number) {
  const steady = samples.filter((s) => s.at - started >= WARMUP);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const first = steady.slice(0, third);
  const last = steady.slice(-third);
  const rssGrowth = median(last.map((s) => s.rss)) - median(first.map((s) => s.rss));
  const heapGrowth = median(last.map((s) => s.heap)) - median(first.map((s) => s.heap));
  if (samples.length > 0) {
    check(steady.length >= 3, `${node}: only ${steady.length} samples after warm-up`);
    check(rssGrowth <= RSS_GROWTH, `${node}: RSS grew ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    check(heapGrowth <= HEAP_GROWTH, `${node}: heap grew ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
  }
  return {
    node,
    samples: samples.length,
    rssMiB: {
      first: mib(median(first.map((s) => s.rss))),
      last: mib(median(last.map((s) => s.rss))),
      max: mib(Math.max(0, ...samples.map((s) => s.rss))),
    },
    heapMiB: {
      first: mib(median(first.map((s) => s.heap))),
      last: mib(median(last.map((s) => s.heap))),
    },
    eventLoopP99MaxMs: Math.max(0, ...samples.map((s) => s.loopP99)),
  };
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`soak: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
