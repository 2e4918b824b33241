import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseBenchArgs } from '../cli.js';
import { emptyRunResult } from '../scenarios/run.js';
import type { RunResult, ScenarioName } from '../scenarios/types.js';
import { mergeWithDocs, writeDocs } from './docs.js';
import { barChart, esc, label, lineChart, niceStep } from './svg.js';
import { type BenchReport, markdownTable, redeliveryRows, si, textTable } from './table.js';

function report(command: string, runs: RunResult[]): BenchReport {
  return {
    version: 1,
    startedAt: `${command} start`,
    finishedAt: `${command} end`,
    command,
    machine: { cpu: 'cpu', cores: 2, memMiB: 1024, kernel: 'k', node: 'v20' },
    loadAvgAtStart: 0,
    pinning: { serverCpus: null, clientCpus: null },
    runs,
    comparisons: [],
  };
}

function run(scenario: ScenarioName, target: string): RunResult {
  return emptyRunResult(target, 'barrage', parseBenchArgs([scenario]).params[scenario], null);
}

describe('report', () => {
  it('picks nice axis steps and short labels', () => {
    assert.equal(niceStep(100), 20);
    assert.equal(niceStep(7), 2);
    assert.equal(niceStep(0), 1);
    assert.equal(label(1_500_000), '1.5M');
    assert.equal(label(2500), '2.5k');
    assert.equal(label(12.345), '12.3');
    assert.equal(si(1_234_567), '1.23M');
    assert.equal(si(null), 'n/a');
    assert.equal(esc('<a&"b">'), '&lt;a&amp;&quot;b&quot;&gt;');
  });

  it('draws bar charts (linear and log) and line charts as SVG', () => {
    const series = [
      { name: 'barrage', values: [10, null] },
      { name: 'ws-hub', values: [1000, 5] },
    ];
    for (const log of [false, true]) {
      const svg = barChart('T <1>', 'ms', ['a', 'b'], series, log);
      assert.match(svg, /^<svg [^>]*viewBox="0 0 720 360"/);
      assert.equal((svg.match(/<rect x=/g) ?? []).length, 3 + 2, 'three bars and two legend keys');
      assert.match(svg, /n\/a/);
      assert.match(svg, /T &lt;1&gt;/);
    }
    const line = lineChart('S', 'x', 'y', [
      {
        name: 'a',
        points: [
          [1, 2],
          [2, 4],
        ],
      },
    ]);
    assert.match(line, /<polyline points="[\d., ]+"/);
    assert.equal((line.match(/<circle /g) ?? []).length, 2);
  });

  it('renders aligned text tables and Markdown tables', () => {
    const text = textTable(['a', 'bb'], [['xyz', '1']]).split('\n');
    assert.equal(text[0], 'a    bb');
    assert.equal(text[2], 'xyz  1');
    assert.equal(markdownTable(['a'], [['x|y']]), '| a |\n|---|\n| x\\|y |');
  });

  it('merges a run of one scenario into the docs report, naming the command of each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-merge-'));
    try {
      mkdirSync(join(dir, 'bench'));
      const old = report('bench --all', [run('hot-room', 'barrage'), run('alerts', 'old')]);
      old.machine = { ...old.machine, cpu: 'another cpu' };
      writeFileSync(join(dir, 'bench', 'latest.json'), JSON.stringify(old));
      const alerts = run('alerts', 'barrage (embedded)');
      alerts.redelivery = {
        users: 20,
        alerts: 100,
        complete: 20,
        allMs: { p50: 12.5, p90: 14, p99: 20, max: 21, mean: 13 },
        firstMs: { p50: 2, p90: 3, p99: 4, max: 4, mean: 2 },
      };
      const merged = mergeWithDocs(report('bench alerts', [alerts]), dir);
      assert.deepEqual(
        merged.runs.map((r) => [r.scenario, r.target, r.measured?.command]),
        [
          ['hot-room', 'barrage', 'bench --all'],
          ['alerts', 'barrage (embedded)', 'bench alerts'],
        ],
        'the old alerts run is replaced, the other scenarios kept',
      );
      assert.deepEqual(redeliveryRows(merged.runs), [
        ['barrage (embedded)', '20', '100', '20/20', '2.0', '12.5', '20.0', '21.0'],
      ]);
      const md = readFileSync(writeDocs(merged, dir), 'utf8');
      // Kept rows name the machine that measured them when it is not this run's.
      assert.match(
        md,
        /- hot-room: `bench --all` \(bench --all start, on another cpu, 2 cores, 1024 MiB RAM, Linux k, Node v20\)/,
      );
      assert.match(md, /- Machine: cpu, 2 cores/);
      assert.match(md, /## Alerts/);
      assert.match(md, /\| barrage \(embedded\) \| 20 \| 100 \| 20\/20 \|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
