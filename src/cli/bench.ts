/**
 * `barrage bench`: loads the load generator from bench/ (outside src/, so the server's import
 * rules and build do not pull in its client code) and runs it. The path is computed at run time
 * on purpose: neither tsc nor dependency-cruiser follows it.
 */

/** The bench module's entry point. */
interface BenchModule {
  runBench(argv: string[]): Promise<number>;
}

/** Runs `barrage bench ARGV`; resolves to the process exit code (0 ok, 1 failed run, 2 usage). */
export async function runBench(argv: string[]): Promise<number> {
  // dist/src/cli/bench.js -> dist/bench/index.js; src/cli/bench.ts (tsx) -> bench/index.ts.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`../../bench/index.${ext}`, import.meta.url).href;
  const mod = (await import(url)) as BenchModule;
  return mod.runBench(argv);
}
