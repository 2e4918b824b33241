#!/usr/bin/env node
// Runs the micro-benchmarks (`*.bench.ts` beside the code) one after another, through tsx.
// Usage: npm run bench:micro [-- substring ...]  (only files whose path contains one)
// Not part of `npm test`: they measure, they do not assert.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.bench.ts')) files.push(path);
  }
}
walk('src');
const filters = process.argv.slice(2);
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let failed = 0;
for (const file of selected.sort()) {
  console.log(`\n# ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
