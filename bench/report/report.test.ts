import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barChart, esc, label, lineChart, niceStep } from './svg.js';
import { markdownTable, si, textTable } from './table.js';

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
});
