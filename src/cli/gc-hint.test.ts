import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ONE_CPU_GC_FLAG, oneCpuGcHint } from './gc-hint.js';

describe('the one-CPU GC hint', () => {
  it('speaks on one CPU without the flag, and not otherwise', () => {
    assert.match(oneCpuGcHint(1, []) ?? '', /--single-threaded-gc/);
    assert.equal(oneCpuGcHint(1, ['--max-semi-space-size=64', ONE_CPU_GC_FLAG]), null);
    assert.equal(oneCpuGcHint(1, ['--single_threaded_gc']), null);
    assert.equal(oneCpuGcHint(2, []), null);
  });

  it('names a flag this Node accepts', () => {
    const r = spawnSync(process.execPath, [ONE_CPU_GC_FLAG, '-e', 'process.exit(7)']);
    assert.equal(r.status, 7, r.stderr.toString());
  });
});
