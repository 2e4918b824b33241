/**
 * The soak in CI: `scripts/soak.ts --minutes 0.5` as a child process (30 s of churn, joins and
 * publishes against a `barrage serve` process). Pass: exit code 0 and a summary that says pass
 * (no memory growth past the bounds after warm-up, no silent loss, nothing left behind).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { ROOT } from './support.js';

describe('soak (30 s)', () => {
  it('churns connections, joins and publishes with bounded memory and no silent loss', async (t) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/soak.ts', '--minutes', '0.5'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    // SIGTERM lets the soak stop its server; SIGKILL only if that did not work.
    const killer = setTimeout(() => child.kill('SIGTERM'), 100_000);
    const hardKiller = setTimeout(() => child.kill('SIGKILL'), 110_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(killer);
    clearTimeout(hardKiller);
    const line = out.trim().split('\n').at(-1) ?? '';
    t.diagnostic(line);
    assert.equal(code, 0, `soak failed: ${line} ${err}`);
    const summary = JSON.parse(line) as { soak: string; published: number; failures: string[] };
    assert.equal(summary.soak, 'pass');
    assert.deepEqual(summary.failures, []);
    assert.ok(summary.published > 1000, `only ${summary.published} messages published`);
  });
});
