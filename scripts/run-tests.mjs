#!/usr/bin/env node
// Finds every test file and runs them with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [substring ...]  (only files whose path contains one)
// Kinds by name: *.test.ts unit and integration, *.e2e.test.ts browser.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['src', 'client', 'test', 'bench'];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(path);
  }
}
for (const root of roots) walk(root);
const filters = process.argv.slice(2);
const selected = files
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A hang guard per file, not a speed bound: crash.test.ts takes ~60 s alone and passed 120 s
    // on a machine at load 20.
    '--test-timeout=300000',
    '--test-reporter=spec',
    ...selected,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
