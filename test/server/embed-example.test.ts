/**
 * examples/embed.ts as a user runs it (issue 16, bug 9): it exits 0 after its self-check, and
 * docs/embedding.md shows the same source and an output whose claims the run bears out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const SOURCE = 'examples/embed.ts';

/** Runs the example to its end; resolves with its exit code and output lines. */
function run(): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SOURCE], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n') });
    });
  });
}

describe('examples/embed.ts', () => {
  it('is shown in docs/embedding.md exactly as it is in the repository', () => {
    const doc = readFileSync('docs/embedding.md', 'utf8');
    const block = /<!-- example:begin -->\n```ts\n([\s\S]*?)```\n<!-- example:end -->/.exec(doc);
    assert.ok(block, 'docs/embedding.md holds the example between its markers');
    assert.equal(block[1], readFileSync(SOURCE, 'utf8'));
  });

  it('runs its self-check and exits 0, the publish answered and echoed at the same offset', async () => {
    const { code, lines } = await run();
    assert.equal(code, 0, lines.join('\n'));
    const received = lines
      .filter((l) => l.startsWith('  <- '))
      .map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>);
    const ok = received.find((m) => m.type === 'ok' && m.id === 4);
    const own = received.find((m) => m.type === 'message' && m.from === 'alice');
    assert.ok(ok && own, 'the ok and the own message both arrived');
    assert.equal(own.offset, ok.offset, 'matched by offset, in whichever order they came');
    assert.deepEqual(own.data, { text: 'what the ****' }, 'the onPublish hook masked the word');
    assert.ok(lines.includes('stopped'));
  });
});
