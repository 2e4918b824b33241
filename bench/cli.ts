/**
 * The flags of `barrage bench`: parsing with node:util parseArgs, per-scenario defaults, and the
 * help text (every flag with its default). Unknown flags are an error (exit code 2).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { TargetKind } from './loadgen/dialects.js';
import { type RunParams, SCENARIOS, type ScenarioName } from './scenarios/types.js';

/** Everything a bench invocation asked for. */
export interface BenchOptions {
  scenarios: ScenarioName[];
  targets: TargetKind[];
  /** Per scenario: its parameters after defaults and flags. */
  params: Record<ScenarioName, RunParams>;
  target: string | null;
  serverPids: number[];
  apiKey: string | null;
  jwtSecret: string | null;
  clientsProcs: number;
  /** Receivers offer permessage-deflate. */
  deflate: boolean;
  sourceIps: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
  serverCpus: string | null;
  clientCpus: string | null;
  nodes: number;
  redisUrl: string | null;
  /** Alerts: the stores to run it on, one run each. */
  alertStores: AlertStore[];
  /** Alerts on PostgreSQL: this database (default: start a scratch PostgreSQL). */
  databaseUrl: string | null;
  serveArgs: string[];
  json: string | null;
  /** Re-render a saved JSON report instead of running. */
  fromJson: string | null;
  writeDocs: boolean;
  /** With writeDocs: keep the docs' runs of scenarios this invocation did not run. */
  mergeDocs: boolean;
  docsDir: string | null;
  progress: boolean;
  help: boolean;
  /** Wait after connecting before memory is read, ms (no flag: tests shorten it). */
  settleMs: number;
  /** The hot room of hot-room and a hot-room sweep: each is run once per name (--room LIST). */
  hotRooms: string[];
}

/** The stores the alerts scenario runs on. */
export type AlertStore = 'embedded' | 'postgres';

/** Per-scenario defaults, used for each flag the user did not give. */
export const SCENARIO_DEFAULTS: Record<
  ScenarioName,
  { connections: number; rooms: number; rate: number; durationS: number }
> = {
  idle: { connections: 5000, rooms: 100, rate: 0, durationS: 10 },
  'hot-room': { connections: 5000, rooms: 1, rate: 400, durationS: 10 },
  'many-rooms': { connections: 5000, rooms: 100, rate: 2000, durationS: 10 },
  push: { connections: 5000, rooms: 0, rate: 1000, durationS: 10 },
  publish: { connections: 5000, rooms: 100, rate: 1000, durationS: 10 },
  cluster: { connections: 3000, rooms: 1, rate: 200, durationS: 10 },
  sweep: { connections: 5000, rooms: 100, rate: 10, durationS: 5 },
  // 5000 users with 2 devices each.
  alerts: { connections: 10000, rooms: 0, rate: 2000, durationS: 10 },
};

const options = {
  all: { type: 'boolean' },
  connections: { type: 'string', short: 'n' },
  rooms: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  drain: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '5' },
  publishers: { type: 'string', default: '4' },
  'payload-bytes': { type: 'string', default: '64' },
  target: { type: 'string' },
  'server-pid': { type: 'string', multiple: true },
  'api-key': { type: 'string' },
  'jwt-secret': { type: 'string' },
  targets: { type: 'string', default: 'barrage' },
  peers: { type: 'boolean' },
  'clients-procs': { type: 'string', default: '0' },
  deflate: { type: 'boolean' },
  'source-ips': { type: 'string', default: '0' },
  'connect-concurrency': { type: 'string', default: '200' },
  'connect-timeout': { type: 'string', default: '20' },
  'server-cpus': { type: 'string' },
  'client-cpus': { type: 'string' },
  pin: { type: 'boolean' },
  nodes: { type: 'string', default: '3' },
  'redis-url': { type: 'string' },
  'alert-stores': { type: 'string', default: 'embedded,postgres' },
  'database-url': { type: 'string' },
  'redelivery-users': { type: 'string', default: '20' },
  'redelivery-alerts': { type: 'string', default: '100' },
  'serve-arg': { type: 'string', multiple: true },
  'sweep-of': { type: 'string', default: 'hot-room' },
  'sweep-factor': { type: 'string', default: '1.5' },
  'sweep-steps': { type: 'string', default: '16' },
  'sweep-rates': { type: 'string' },
  room: { type: 'string', default: 'live:hot' },
  'max-loss': { type: 'string', default: '1' },
  'max-p99': { type: 'string', default: '500' },
  json: { type: 'string' },
  'from-json': { type: 'string' },
  'write-docs': { type: 'boolean' },
  'merge-docs': { type: 'boolean' },
  'docs-dir': { type: 'string' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The help text of `barrage bench`. */
export const HELP = `Usage: barrage bench [scenario ...] [options]

Runs load scenarios against Barrage (started here as a child process unless --target) and,
with --peers, against a Socket.IO 4 server, a plain ws hub and a C epoll hub, then prints a table.

Scenarios (default hot-room):
  idle         N connections in R rooms, nothing published: memory per connection, idle CPU
  hot-room     N members of one room, P messages/s
  many-rooms   N connections over R rooms, P messages/s in total
  push         N users (JWT auth), P HTTP pushes/s (POST /api/push) to random users
  publish      N connections over R rooms, P POST /api/publish/s in total to random rooms
  cluster      hot-room over --nodes Barrage nodes and a Redis (Barrage only)
  sweep        raise P (x --sweep-factor per step) until loss or p99 breaks; reports the
               largest sustained delivery rate
  alerts       N/2 users with 2 devices each, P stored pushes/s (persist: true) to random
               users, one device acking; p99 to the first device; then redelivery of
               --redelivery-alerts unread alerts to each of --redelivery-users users on
               connect. Once per store in --alert-stores (Barrage only)

Per-scenario defaults (N / R / P / seconds): idle 5000/100/-/10, hot-room 5000/1/400/10,
many-rooms 5000/100/2000/10, push 5000/-/1000/10, publish 5000/100/1000/10,
cluster 3000/1/200/10, sweep 5000/100/10/5, alerts 10000/-/2000/10.

Load:
  -n, --connections N      receiving connections (default: per scenario)
  --rooms R                rooms for idle and many-rooms (default: per scenario)
  --rate P                 messages/s in total; sweep: the first step (default: per scenario)
  --duration S             seconds of publishing per phase, idle: seconds measured (default: per scenario)
  --drain S                most seconds to wait for in-flight deliveries (default 3)
  --warmup S               push, publish and alerts: seconds of API calls at the same rate on
                           the same keep-alive connections before each measured phase; its
                           p99 is reported beside the phase's (default 5; 0: none)
  --publishers K           publishing connections (default 4)
  --payload-bytes B        approximate size of each message's data (default 64)
  --room LIST              the room of hot-room, cluster and a hot-room sweep (default
                           live:hot, which Barrage's live:* policy covers; e.g. r0 for a
                           room with no policy of its own); with several (r0,live:hot)
                           hot-room and sweep run once per room, cluster in the first
  --all                    run idle, hot-room, many-rooms, push, sweep and alerts, and cluster
                           when redis-server is on PATH (or --redis-url is given)

Targets:
  --targets LIST           comma list of barrage, barrage-sse, ws-hub, socketio, c-epoll
                           (default barrage); barrage-sse: Barrage with its receivers on
                           Server-Sent Events (GET /sse), publishers on WebSocket; it runs
                           idle, hot-room and many-rooms only; c-epoll: the C peer, built
                           with cc at bench time (skipped, with a line saying so, without cc)
  --peers                  same as --targets barrage,ws-hub,socketio,c-epoll
  --target URL             drive an already running Barrage at URL (http://host:port)
  --server-pid PID         with --target: its PID, for CPU and RSS (repeatable)
  --api-key KEY            with --target: API key for POST /api/push (default none)
  --jwt-secret S           with --target: HS256 secret to sign user tokens (default none)
  --serve-arg ARG          extra argument for \`barrage serve\` (repeatable), e.g.
                           --serve-arg=--room-policies --serve-arg='live:*=0/lossy'
  --nodes K                cluster: Barrage nodes (default 3)
  --redis-url URL          cluster: use this Redis (default: spawn redis-server on a free port)

Alerts:
  --alert-stores LIST      comma list of embedded, postgres (default embedded,postgres)
  --database-url URL       postgres: use this database (default: start a scratch PostgreSQL
                           from /usr/lib/postgresql on a free port; it writes rows)
  --redelivery-users U     users measured one after the other (default 20)
  --redelivery-alerts A    unread alerts waiting for each of them (default 100)

Load generator:
  --clients-procs K        worker processes for the receivers; this process keeps the
                           publishers (default 0: everything in this one process)
  --deflate                receivers offer permessage-deflate (Barrage compresses only with
                           --serve-arg=--ws-compress-min-bytes=N; see docs/performance.md)
  --source-ips K           loopback source addresses 127.0.0.1..K (default 0 = one per 20000)
  --connect-concurrency C  connections being opened at once (default 200)
  --connect-timeout S      seconds for one connection to open and join (default 20)
  --server-cpus LIST       run servers under \`taskset -c LIST\` (default: not pinned)
  --client-cpus LIST       pin the load generator with taskset (default: not pinned)
  --pin                    same as --server-cpus 0 --client-cpus 1

Sweep:
  --sweep-of NAME          layout swept: hot-room or many-rooms (default hot-room)
  --sweep-factor F         rate multiplier per step (default 1.5)
  --sweep-steps K          most steps (default 16)
  --sweep-rates LIST       the steps' rates, comma list (e.g. 1,2,5,10,20,50,100,200,400,800,1600);
                           replaces --rate, --sweep-factor and --sweep-steps
  --max-loss PCT           a phase with more loss fails (default 1)
  --max-p99 MS             a phase with a higher p99 latency fails (default 500)

Output:
  --json FILE              write the JSON report to FILE (- = stdout, table then on stderr)
  --from-json FILE         do not run: print (and --write-docs) a report saved with --json
  --write-docs             write docs/benchmarks.md and docs/bench/*.svg from this run
  --merge-docs             with --write-docs: keep the runs of the docs' bench/latest.json for
                           the scenarios this run did not measure (each marked with its own
                           command and date), e.g. to add one scenario without rerunning --all
  --docs-dir DIR           where --write-docs writes (default: <repo>/docs)
  --no-progress            no progress bar (it is drawn only when stderr is a TTY anyway)
  -h, --help               this text

Exit codes: 0 done, 1 a run failed, 2 bad usage.`;

/** Whether `redis-server` can be started from PATH (for the cluster scenario of --all). */
export function hasRedisServer(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** A usage error (exit code 2). */
export class UsageError extends Error {}

function num(name: string, text: string | undefined, min: number, max: number): number {
  const v = Number(text);
  if (text === undefined || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got ${text}`);
  }
  return v;
}

/** Parses argv (the words after `bench`); throws UsageError on bad usage. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const scenarios: ScenarioName[] = [];
  for (const p of parsed.positionals) {
    if (!(SCENARIOS as readonly string[]).includes(p))
      throw new UsageError(`unknown scenario: ${p}`);
    scenarios.push(p as ScenarioName);
  }
  if (v.all) {
    scenarios.push('idle', 'hot-room', 'many-rooms', 'push', 'sweep', 'alerts');
    if (v['redis-url'] || hasRedisServer()) scenarios.push('cluster');
  }
  if (scenarios.length === 0) scenarios.push('hot-room');
  const targets = (v.peers ? 'barrage,ws-hub,socketio,c-epoll' : v.targets)
    .split(',')
    .map((s) => s.trim());
  const known = ['barrage', 'barrage-sse', 'ws-hub', 'socketio', 'c-epoll'];
  for (const t of targets) {
    if (!known.includes(t)) throw new UsageError(`unknown target: ${t}`);
  }
  const sweepOf = v['sweep-of'];
  if (sweepOf !== 'hot-room' && sweepOf !== 'many-rooms')
    throw new UsageError('--sweep-of: hot-room or many-rooms');
  const sweepRates = v['sweep-rates']
    ?.split(',')
    .map((r) => num('sweep-rates', r.trim(), 0.1, 10_000_000));
  const hotRooms = v.room.split(',').map((r) => r.trim());
  for (const room of hotRooms)
    if (!/^[\x21-\x7e]{1,128}$/.test(room))
      throw new UsageError(`--room: not a room name: ${room}`);
  const room = hotRooms[0]!;
  const params = {} as Record<ScenarioName, RunParams>;
  for (const s of SCENARIOS) {
    const d = SCENARIO_DEFAULTS[s];
    params[s] = {
      scenario: s,
      connections:
        v.connections === undefined
          ? d.connections
          : num('connections', v.connections, 1, 1_000_000),
      rooms: v.rooms === undefined ? d.rooms : num('rooms', v.rooms, 1, 1_000_000),
      rate: v.rate === undefined ? d.rate : num('rate', v.rate, 0.1, 10_000_000),
      durationMs:
        (v.duration === undefined ? d.durationS : num('duration', v.duration, 0.1, 3600)) * 1000,
      drainMs: num('drain', v.drain, 0, 600) * 1000,
      warmupMs: num('warmup', v.warmup, 0, 600) * 1000,
      publishers: num('publishers', v.publishers, 1, 1000),
      payloadBytes: num('payload-bytes', v['payload-bytes'], 0, 60000),
      sweepOf,
      sweepFactor: num('sweep-factor', v['sweep-factor'], 1.01, 100),
      sweepSteps: sweepRates?.length ?? num('sweep-steps', v['sweep-steps'], 1, 100),
      sweepRates: sweepRates ?? null,
      room,
      maxLossPct: num('max-loss', v['max-loss'], 0, 100),
      maxP99Ms: num('max-p99', v['max-p99'], 0, 3_600_000),
      redeliveryUsers: num('redelivery-users', v['redelivery-users'], 0, 10_000),
      redeliveryAlerts: num('redelivery-alerts', v['redelivery-alerts'], 1, 1000),
    };
  }
  const alertStores = v['alert-stores'].split(',').map((s) => s.trim());
  for (const s of alertStores) {
    if (s !== 'embedded' && s !== 'postgres')
      throw new UsageError(`--alert-stores: embedded or postgres, got ${s}`);
  }
  const serverPids = (v['server-pid'] ?? []).map((p) => num('server-pid', p, 1, 2 ** 22));
  return {
    scenarios: [...new Set(scenarios)],
    targets: [...new Set(targets)] as TargetKind[],
    params,
    target: v.target ?? null,
    serverPids,
    apiKey: v['api-key'] ?? null,
    jwtSecret: v['jwt-secret'] ?? null,
    clientsProcs: num('clients-procs', v['clients-procs'], 0, 64),
    deflate: v.deflate === true,
    sourceIps: num('source-ips', v['source-ips'], 0, 250),
    connectConcurrency: num('connect-concurrency', v['connect-concurrency'], 1, 10_000),
    connectTimeoutMs: num('connect-timeout', v['connect-timeout'], 1, 600) * 1000,
    serverCpus: v['server-cpus'] ?? (v.pin ? '0' : null),
    clientCpus: v['client-cpus'] ?? (v.pin ? '1' : null),
    nodes: num('nodes', v.nodes, 1, 16),
    redisUrl: v['redis-url'] ?? null,
    alertStores: [...new Set(alertStores)] as AlertStore[],
    databaseUrl: v['database-url'] ?? null,
    serveArgs: v['serve-arg'] ?? [],
    json: v.json ?? null,
    fromJson: v['from-json'] ?? null,
    writeDocs: v['write-docs'] === true,
    mergeDocs: v['merge-docs'] === true,
    docsDir: v['docs-dir'] ?? null,
    progress: v['no-progress'] !== true,
    help: v.help === true,
    settleMs: 1000,
    hotRooms: [...new Set(hotRooms)],
  };
}
