import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureSdkBuilt, ROOT } from '../test/e2e/support/browser.js';

/** Newest modification time of the .ts sources (tests left out) under `dir`, ms. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The example runs the built package (dist/ through package.json "exports"): build it when it is
 * missing or older than any source, so the test never runs yesterday's code.
 */
function serverBuildIsStale(): boolean {
  const built = join(ROOT, 'dist', 'src', 'server', 'index.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return newestSource(join(ROOT, 'src')) > builtAt || newestSource(join(ROOT, 'client')) > builtAt;
}

/** The first fenced block of `lang` after `from` in `text`. */
function block(text: string, lang: string, from = 0): { code: string; end: number } {
  const start = text.indexOf(`\`\`\`${lang}\n`, from);
  assert.ok(start >= 0, `a ${lang} block`);
  const body = start + lang.length + 4;
  const end = text.indexOf('\n```', body);
  return { code: text.slice(body, end + 1), end };
}

/** Builds the package when stale (the examples import it by name, through dist/). */
function ensurePackageBuilt(): void {
  // The example imports the package by name ('barrage', 'barrage/client'), which resolves to
  // dist/ through package.json "exports": it must be built. `npm test` builds first.
  if (serverBuildIsStale()) {
    const build = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'inherit',
        timeout: 120_000,
      },
    );
    assert.equal(build.status, 0, 'the package build (tsc -p tsconfig.build.json) failed');
  }
  ensureSdkBuilt();
}

/** Runs the first js block after `heading` and compares its output with the text block after it. */
function runExample(heading: string, name: string): void {
  const readme = readFileSync(join(ROOT, 'client', 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has ${heading}`);
  const example = block(readme, 'js', at);
  const expected = block(readme, 'text', example.end);
  ensurePackageBuilt();
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const file = join(ROOT, 'dist', `${name}.mjs`); // inside the package, so self-import works
  writeFileSync(file, example.code);
  const out = execFileSync(process.execPath, [file], {
    cwd: ROOT,
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(out, expected.code);
}

describe('client/README.md', () => {
  it('runs its Node example as written and prints what it says', () => {
    runExample('## Example (Node)', 'readme-example');
  });

  it('runs its alerts example as written and prints what it says', () => {
    runExample('## Example (alerts, Node)', 'readme-alerts-example');
  });
});
