/**
 * `barrage bench`: the load generator and scenario runner. For each scenario and each target it
 * starts the server as a child process (or uses --target), runs the scenario, stops the server,
 * and then prints the table (and writes JSON and docs when asked). Entry: runBench(argv).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type AlertStore, type BenchOptions, HELP, parseBenchArgs, UsageError } from './cli.js';
import type { TargetKind } from './loadgen/dialects.js';
import { Progress } from './report/progress.js';
import { type BenchReport, compare, mainPhase, renderText, si } from './report/table.js';
import { emptyRunResult, type GenOptions, runScenario } from './scenarios/run.js';
import type { RunResult, ScenarioName } from './scenarios/types.js';
import { alertsTarget } from './servers/alerts-target.js';
import { buildCPeer } from './servers/c-peer.js';
import { killAllServers, nodeFlagsFor } from './servers/spawn.js';
import { externalTarget, raiseFdLimit, startTarget, type Target } from './servers/targets.js';
import { fdLimit, machineInfo } from './stats/proc.js';

export type { BenchReport } from './report/table.js';
export type { RunResult } from './scenarios/types.js';

/**
 * Source addresses used when --source-ips is 0: one per 20000 connections (ephemeral ports),
 * and for a server not started here, one per 900 so its default 1000 connections per IP holds.
 */
export function autoSourceIps(connections: number, external: boolean): number {
  const per = external ? 900 : 20_000;
  return Math.min(250, Math.max(1, Math.ceil(connections / per)));
}

function pinSelf(cpus: string, progress: Progress): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    progress.log(`warning: could not pin the load generator to ${cpus}: ${(err as Error).message}`);
  }
}

async function targetFor(
  kind: BenchOptions['targets'][number],
  scenario: ScenarioName,
  o: BenchOptions,
  store: AlertStore | null,
  log: (line: string) => void,
): Promise<Target> {
  if (o.target && (kind === 'barrage' || kind === 'barrage-sse')) {
    return externalTarget(kind, o.target, o.serverPids, o.apiKey, o.jwtSecret);
  }
  const options = {
    serverCpus: o.serverCpus,
    serveArgs: o.serveArgs,
    nodes: scenario === 'cluster' ? o.nodes : 1,
    redisUrl: o.redisUrl,
    startTimeoutMs: 20_000,
  };
  return store ? alertsTarget(store, options, o.databaseUrl, log) : startTarget(kind, options);
}

/** The targets that can run here: the C peer needs a C compiler (it says so when skipped). */
function availableTargets(targets: TargetKind[], progress: Progress): TargetKind[] {
  if (!targets.includes('c-epoll')) return targets;
  const built = buildCPeer();
  if (built.ok) return targets;
  progress.log(`c-epoll: peer unavailable (${built.reason}): skipped`);
  return targets.filter((t) => t !== 'c-epoll');
}

/** One scenario against one target (hot-room: in one room; alerts: on one store). */
interface Job {
  scenario: ScenarioName;
  kind: BenchOptions['targets'][number];
  store: AlertStore | null;
  room: string;
}

function jobsOf(o: BenchOptions): Job[] {
  // hot-room and a hot-room sweep run once per --room; everything else once, in the first.
  const roomsOf = (s: ScenarioName): string[] =>
    s === 'hot-room' || (s === 'sweep' && o.params.sweep.sweepOf === 'hot-room')
      ? o.hotRooms
      : [o.params[s].room ?? 'live:hot'];
  const jobs: Job[] = [];
  for (const scenario of o.scenarios) {
    for (const room of roomsOf(scenario)) {
      if (scenario === 'alerts') {
        // Peers keep no inbox: Barrage only, once per store (one store for an external target).
        const stores = o.target ? [o.alertStores[0] ?? 'embedded'] : o.alertStores;
        for (const store of stores) jobs.push({ scenario, kind: 'barrage', store, room });
        continue;
      }
      // Peers have no cluster mode: the cluster scenario runs against Barrage only. SSE
      // receivers (barrage-sse) read rooms: not user pushes (a stream needs a room), not a sweep.
      const kinds =
        scenario === 'cluster'
          ? o.targets.filter((k) => k === 'barrage')
          : scenario === 'push' || scenario === 'sweep'
            ? o.targets.filter((k) => k !== 'barrage-sse')
            : o.targets;
      for (const kind of kinds) jobs.push({ scenario, kind, store: null, room });
    }
  }
  return jobs;
}

function summary(r: RunResult): string {
  const p = mainPhase(r);
  if (r.error) return `${r.scenario} ${r.target}: error: ${r.error}`;
  if (!p)
    return `${r.scenario} ${r.target}: ${r.connections.opened} conns, ${r.memory.kibPerConn ?? 'n/a'} KiB/conn, idle CPU ${r.idleCpuPct ?? 'n/a'}%`;
  const line = `${r.scenario} ${r.target}: ${si(p.deliveriesPerSec)} deliv/s, loss ${p.lossPct}%, p99 ${p.latencyMs.p99} ms, server CPU ${p.serverCpuPct ?? 'n/a'}%`;
  const rd = r.redelivery;
  if (!rd) return line;
  return `${line}; redelivery of ${rd.alerts} alerts p50 ${rd.allMs.p50} ms, max ${rd.allMs.max} ms (${rd.complete}/${rd.users} users complete)`;
}

/** Runs every scenario against every target; returns the report. */
export async function runAll(o: BenchOptions, command: string): Promise<BenchReport> {
  const progress = new Progress(o.progress);
  if (o.clientCpus) pinSelf(o.clientCpus, progress);
  const maxConns = Math.max(...o.scenarios.map((s) => o.params[s].connections));
  await raiseFdLimit(process.pid, Math.max(65536, maxConns * 2 + 1024));
  const limit = fdLimit(process.pid);
  if (limit !== null && limit < maxConns + 256) {
    progress.log(
      `warning: open-file limit ${limit} is below ${maxConns} connections (raise it: ulimit -n, or run as a user allowed to)`,
    );
  }
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const runs: RunResult[] = [];
  const jobs = jobsOf({ ...o, targets: availableTargets(o.targets, progress) });
  for (const { scenario, kind, store, room } of jobs) {
    const params = { ...o.params[scenario], room };
    const gen: GenOptions = {
      clientsProcs: o.clientsProcs,
      deflate: o.deflate,
      sourceIps:
        o.sourceIps > 0 ? o.sourceIps : autoSourceIps(params.connections, o.target !== null),
      connectConcurrency: o.connectConcurrency,
      connectTimeoutMs: o.connectTimeoutMs,
      settleMs: o.settleMs,
    };
    progress.prefix = `[${runs.length + 1}/${jobs.length}] `;
    let target: Target | null = null;
    let result: RunResult;
    try {
      progress.update(0, `${scenario} ${kind}: starting server`);
      target = await targetFor(kind, scenario, o, store, (line) => progress.log(line));
      for (const pid of target.pids)
        await raiseFdLimit(pid, Math.max(65536, params.connections * 2 + 1024));
      result = await runScenario(target, params, gen, progress);
    } catch (err) {
      result = emptyResult(
        store ? `barrage (${store})` : kind,
        kind,
        params,
        (err as Error).message,
      );
    } finally {
      await target?.stop();
    }
    if (store) result.store = store;
    runs.push(result);
    progress.log(summary(result));
  }
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command,
    machine: machineInfo(),
    loadAvgAtStart,
    pinning: {
      serverCpus: o.serverCpus,
      clientCpus: o.clientCpus,
      nodeFlags: nodeFlagsFor(o.serverCpus),
    },
    runs,
    comparisons: compare(runs),
  };
}

function emptyResult(
  name: string,
  kind: string,
  params: RunResult['params'],
  error: string,
): RunResult {
  return emptyRunResult(name, kind, params, error);
}

/** `barrage bench ARGV`: runs, prints, writes; resolves to the exit code (0, 1 failure, 2 usage). */
export async function runBench(argv: string[]): Promise<number> {
  // The store's scenario has its own flags (bench/timeline/run.ts).
  if (argv[0] === 'timeline') {
    const { runTimelineBench } = await import('./timeline/run.js');
    return runTimelineBench(argv.slice(1));
  }
  let o: BenchOptions;
  try {
    o = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`barrage bench: ${err.message}\n(see barrage bench --help)\n`);
      return 2;
    }
    throw err;
  }
  if (o.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const command = ['barrage', 'bench', ...argv].join(' ');
  // Interrupted: stop the servers this run started, then exit as the signal would.
  const onSignal = (signal: NodeJS.Signals): void => {
    killAllServers();
    process.stderr.write(`\nbarrage bench: ${signal}, servers stopped\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: BenchReport;
  try {
    if (o.fromJson) {
      report = JSON.parse(readFileSync(o.fromJson, 'utf8')) as BenchReport;
      report.comparisons = compare(report.runs);
    } else report = await runAll(o, command);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const text = renderText(report);
  if (o.json === '-') {
    process.stderr.write(`${text}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
    if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (o.writeDocs) {
    const { mergeWithDocs, writeDocs } = await import('./report/docs.js');
    if (o.mergeDocs) report = mergeWithDocs(report, o.docsDir);
    const path = writeDocs(report, o.docsDir);
    process.stderr.write(`wrote ${path}\n`);
  }
  return report.runs.some((r) => r.error !== null) ? 1 : 0;
}
