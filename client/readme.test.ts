import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureSdkBuilt, ROOT } from '../test/e2e/support/browser.js';

/** The first fenced block of `lang` after `from` in `text`. */
function block(text: string, lang: string, from = 0): { code: string; end: number } {
  const start = text.indexOf(`\`\`\`${lang}\n`, from);
  assert.ok(start >= 0, `a ${lang} block`);
  const body = start + lang.length + 4;
  const end = text.indexOf('\n```', body);
  return { code: text.slice(body, end + 1), end };
}

describe('client/README.md', () => {
  it('runs its Node example as written and prints what it says', () => {
    const readme = readFileSync(join(ROOT, 'client', 'README.md'), 'utf8');
    const example = block(readme, 'js');
    const expected = block(readme, 'text', example.end);
    // The example imports the package by name ('barrage', 'barrage/client'), which resolves to
    // dist/ through package.json "exports": it must be built. `npm test` builds first.
    if (!existsSync(join(ROOT, 'dist', 'src', 'server', 'index.js'))) {
      spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        {
          cwd: ROOT,
          stdio: 'inherit',
          timeout: 120_000,
        },
      );
    }
    ensureSdkBuilt();
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    const file = join(ROOT, 'dist', 'readme-example.mjs'); // inside the package, so self-import works
    writeFileSync(file, example.code);
    const out = execFileSync(process.execPath, [file], {
      cwd: ROOT,
      timeout: 20_000,
      encoding: 'utf8',
    });
    assert.equal(out, expected.code);
  });
});
