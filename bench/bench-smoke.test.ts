/**
 * Smoke test of `barrage bench`: a tiny hot-room run against Barrage (the built CLI as a child
 * process) and the peers, checking that the tool opens, delivers, measures and reports. It
 * checks that the tool works, not how fast anything is.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseBenchArgs, UsageError } from './cli.js';
import { runAll, runBench } from './index.js';
import { writeDocs } from './report/docs.js';
import { renderText } from './report/table.js';
import { ratesOf } from './scenarios/run.js';
import type { PhaseResult } from './scenarios/types.js';
import { buildCPeer } from './servers/c-peer.js';
import { nodeFlagsFor, repoRoot } from './servers/spawn.js';

describe('barrage bench', () => {
  it('rejects unknown flags and scenarios with exit code 2', async () => {
    assert.throws(() => parseBenchArgs(['--no-such-flag']), UsageError);
    assert.throws(() => parseBenchArgs(['warp-speed']), UsageError);
    assert.throws(() => parseBenchArgs(['--rate', 'fast']), UsageError);
    assert.equal(await runBench(['--no-such-flag']), 2);
  });

  it('applies per-scenario defaults and flags', () => {
    const o = parseBenchArgs(['hot-room', 'sweep', '--rate', '30', '--pin']);
    assert.deepEqual(o.scenarios, ['hot-room', 'sweep']);
    assert.equal(o.params['hot-room'].rate, 30);
    assert.equal(o.params['many-rooms'].rooms, 100);
    assert.equal(o.serverCpus, '0');
    assert.equal(o.clientCpus, '1');
    assert.equal(o.params.push.warmupMs, 5000);
    assert.equal(parseBenchArgs(['push', '--warmup', '0']).params.push.warmupMs, 0);
    // A Node server pinned to one CPU collects garbage on its main thread (docs/performance.md).
    assert.deepEqual(nodeFlagsFor(o.serverCpus), ['--single-threaded-gc']);
    for (const cpus of [null, '0-1', '0,1']) assert.deepEqual(nodeFlagsFor(cpus), []);
    assert.deepEqual(parseBenchArgs(['--peers']).targets, [
      'barrage',
      'ws-hub',
      'socketio',
      'c-epoll',
    ]);
  });

  it('takes the rates of a sweep as a list and the name of the hot room', () => {
    const o = parseBenchArgs(['sweep', '--sweep-rates', '1, 20,1600', '--room', 'r0']);
    assert.deepEqual(ratesOf(o.params.sweep), [1, 20, 1600]);
    assert.equal(o.params.sweep.sweepSteps, 3);
    assert.equal(o.params['hot-room'].room, 'r0');
    assert.equal(parseBenchArgs([]).params['hot-room'].room, 'live:hot');
    assert.throws(() => parseBenchArgs(['--sweep-rates', '1,fast']), UsageError);
    assert.throws(() => parseBenchArgs(['--room', 'a b']), UsageError);
    const two = parseBenchArgs(['--room', 'r0,live:hot']);
    assert.deepEqual(two.hotRooms, ['r0', 'live:hot']);
    assert.equal(two.params.cluster.room, 'r0');
  });

  it('spreads receivers over worker processes and sums their counts', async () => {
    const o = parseBenchArgs([
      'many-rooms',
      '--targets',
      'ws-hub',
      '-n',
      '30',
      '--rooms',
      '3',
      '--rate',
      '30',
      '--duration',
      '1',
      '--clients-procs',
      '2',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const [run] = (await runAll(o, 'test')).runs;
    assert.ok(run);
    assert.equal(run.error, null, String(run.error));
    assert.equal(run.connections.opened, 30);
    const phase = run.phases[0]!;
    // 3 rooms of 10 members: every accepted message is due 10 times.
    assert.equal(phase.expected, phase.published * 10);
    assert.ok(phase.received > 0 && phase.received <= phase.expected);
    assert.ok(phase.genCpuPct > 0);
  });

  it('measures SSE receivers (barrage-sse): every join, every delivery counted once', async () => {
    const o = parseBenchArgs([
      'hot-room',
      'push',
      '--targets',
      'barrage-sse',
      '-n',
      '20',
      '--rate',
      '20',
      '--duration',
      '1',
      '--drain',
      '5',
      '--clients-procs',
      '1',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const report = await runAll(o, 'test');
    // A stream needs a room: push is not run for SSE receivers.
    assert.deepEqual(
      report.runs.map((r) => `${r.scenario} ${r.target}`),
      ['hot-room barrage-sse'],
    );
    const run = report.runs[0]!;
    assert.equal(run.error, null, String(run.error));
    assert.equal(run.connections.opened, 20);
    const phase = run.phases[0]!;
    assert.ok(phase.published >= 15, `published ${phase.published}`);
    assert.equal(phase.received, phase.expected, 'each delivery counted once, none missed');
    assert.ok(phase.server !== null && phase.server.messagesOut >= phase.expected);
  });

  it('builds the C epoll peer with cc, which delivers room messages and pushes (or is skipped)', async () => {
    const o = parseBenchArgs([
      'many-rooms',
      'push',
      '--targets',
      'c-epoll',
      '-n',
      '40',
      '--rooms',
      '4',
      '--rate',
      '40',
      '--duration',
      '1',
      '--drain',
      '5',
      '--clients-procs',
      '1',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const report = await runAll(o, 'test');
    const built = buildCPeer();
    if (!built.ok) {
      // Without a C compiler the bench says so and runs nothing for it.
      assert.deepEqual(report.runs, []);
      return;
    }
    assert.deepEqual(
      report.runs.map((r) => `${r.scenario} ${r.target}`),
      ['many-rooms c-epoll', 'push c-epoll'],
    );
    for (const run of report.runs) {
      assert.equal(run.error, null, `${run.scenario}: ${run.error}`);
      assert.equal(run.connections.opened, 40, run.scenario);
      const phase = run.phases[0]!;
      assert.ok(phase.published >= 30, `${run.scenario} published ${phase.published}`);
      assert.equal(phase.received, phase.expected, `${run.scenario}: every delivery arrived`);
      assert.ok(phase.serverCpuPct !== null, run.scenario);
    }
    // 4 rooms of 10 members; a push reaches the user's one connection.
    const [rooms, push] = report.runs.map((r) => r.phases[0]!);
    assert.equal(rooms!.expected, rooms!.published * 10);
    assert.equal(push!.expected, push!.published);
  });

  it('runs hot-room against Barrage and every peer and reports every figure', async () => {
    const cli = join(repoRoot(), 'dist', 'src', 'cli', 'index.js');
    assert.ok(existsSync(cli), `${cli} is missing: run npm run build first`);
    const o = parseBenchArgs([
      'hot-room',
      '--peers',
      '-n',
      '20',
      '--rate',
      '20',
      '--duration',
      '1',
      '--publishers',
      '2',
      '--drain',
      '5',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const report = await runAll(o, 'test');
    const targets = ['barrage', 'ws-hub', 'socketio', ...(buildCPeer().ok ? ['c-epoll'] : [])];
    assert.equal(report.runs.length, targets.length);
    for (const run of report.runs) {
      assert.equal(run.error, null, `${run.target}: ${run.error}`);
      assert.equal(run.connections.opened, 20, run.target);
      const phase = run.phases[0];
      assert.ok(phase, run.target);
      assert.ok(phase.published >= 15, `${run.target} published ${phase.published}`);
      assert.equal(phase.expected, phase.published * 20, run.target);
      assert.ok(phase.received > 0, `${run.target} received nothing`);
      assert.ok(phase.lossPct < 50, `${run.target} lost ${phase.lossPct}%`);
      assert.ok(phase.latencyMs.p99 > 0 && phase.latencyMs.p99 >= phase.latencyMs.p50);
      assert.ok(phase.latencyMs.max < 10_000, `${run.target} max ${phase.latencyMs.max} ms`);
      assert.ok(phase.serverCpuPct !== null && phase.serverCpuPct >= 0, run.target);
      assert.ok(run.memory.connectedKiB !== null && run.memory.connectedKiB > 1024, run.target);
      assert.ok(phase.genCpuPct > 0, run.target);
    }
    assert.deepEqual(
      report.runs.map((r) => r.target),
      targets,
    );
    assert.equal(report.comparisons.length, targets.length - 1);
    const text = renderText(report);
    assert.match(text, /hot-room\s+barrage\s+20/);
    assert.match(text, /Barrage \/ peer/);
    const dir = mkdtempSync(join(tmpdir(), 'bench-docs-'));
    try {
      const md = readFileSync(writeDocs(report, dir), 'utf8');
      assert.match(md, /# Benchmarks/);
      assert.match(md, /!\[.*\]\(bench\/efficiency\.svg\)/);
      assert.match(readFileSync(join(dir, 'bench', 'efficiency.svg'), 'utf8'), /^<svg /);
      assert.equal(JSON.parse(readFileSync(join(dir, 'bench', 'latest.json'), 'utf8')).version, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs alerts on the embedded store: first-device latency, acks, redelivery', async () => {
    const o = parseBenchArgs([
      'alerts',
      '--alert-stores',
      'embedded',
      '-n',
      '20',
      '--rate',
      '20',
      '--duration',
      '1',
      '--drain',
      '5',
      '--redelivery-users',
      '2',
      '--redelivery-alerts',
      '5',
      '--warmup',
      '0.5',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const report = await runAll(o, 'test');
    assert.equal(report.runs.length, 1);
    const run = report.runs[0]!;
    assert.equal(run.error, null, String(run.error));
    assert.equal(run.target, 'barrage (embedded)');
    assert.equal(run.store, 'embedded');
    assert.equal(run.connections.opened, 20);
    const phase = run.phases[0]!;
    assert.ok(phase.published >= 15, `published ${phase.published}`);
    // The warm-up ran and saw deliveries; none of them is counted in the window.
    assert.equal(phase.warmup?.ms, 500);
    assert.ok(phase.warmup.p99Ms > 0, `warm-up p99 ${phase.warmup.p99Ms}`);
    // Every stored push reached both devices of its user (10 users, 2 devices each).
    assert.equal(phase.expected, phase.published * 2);
    assert.ok(phase.received > 0 && phase.received <= phase.expected);
    assert.ok(phase.allDevicesMs, 'latency of every device too');
    assert.ok(phase.latencyMs.p50 <= phase.allDevicesMs.p50, 'the first device is not later');
    const rd = run.redelivery!;
    assert.deepEqual([rd.users, rd.alerts, rd.complete], [2, 5, 2]);
    assert.ok(rd.allMs.max >= rd.firstMs.max && rd.allMs.max > 0);
    assert.match(renderText(report), /Alerts: unread alerts redelivered/);
  });
  it('measures push twice: with receivers, then the API alone (calls to absent users)', async () => {
    const o = parseBenchArgs([
      'push',
      '-n',
      '20',
      '--rate',
      '20',
      '--duration',
      '1',
      '--drain',
      '5',
      '--warmup',
      '0.5',
      '--no-progress',
    ]);
    o.settleMs = 100;
    const report = await runAll(o, 'test');
    const run = report.runs[0]!;
    assert.equal(run.error, null, String(run.error));
    assert.deepEqual(
      run.phases.map((p) => p.apiOnly === true),
      [false, true],
    );
    assert.deepEqual(
      run.phases.map((p) => p.warmup?.ms),
      [500, 500],
      'each phase follows its own warm-up',
    );
    const [delivering, alone] = run.phases as [PhaseResult, PhaseResult];
    assert.ok(delivering.received > 0 && delivering.expected === delivering.published);
    assert.ok(alone.published >= 15, `published ${alone.published}`);
    assert.equal(alone.publishErrors, 0);
    assert.equal(alone.received, 0, 'no receiver got a call of the API-alone phase');
    assert.ok(alone.serverUsPerCall != null && alone.serverUsPerCall > 0);
    assert.match(renderText(report), /API ALONE .*srv \d+ µs\/call/);
    assert.match(renderText(report), /of which deliveries ~-?\d+ µs/);
  });
});
