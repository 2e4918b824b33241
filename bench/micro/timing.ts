/**
 * The timing of the micro-benchmarks (`*.bench.ts` beside the code, run by `npm run bench:micro`).
 * Node's own clocks rather than a benchmark library: the fan-out benchmarks must count CPU time
 * (process.cpuUsage: the socket writes' system time included) across awaits on real sockets,
 * which iteration-timing libraries such as tinybench or mitata do not model; for the pure loops
 * a warm-up and the median of a few rounds is all they would add.
 */

/** One measured case: nanoseconds of CPU per operation, median over the rounds. */
export interface Result {
  name: string;
  nsPerOp: number;
  /** Spread of the rounds: (max - min) / median. */
  spread: number;
  ops: number;
  /** Share of the CPU time spent in the kernel (system time), median round. */
  system: number;
}

/**
 * Runs `round` (which performs `opsPerRound` operations and may await) once to warm up, then
 * `rounds` times, and reports the median CPU ns per operation.
 */
export async function measure(
  name: string,
  opsPerRound: number,
  round: () => void | Promise<void>,
  rounds = 7,
): Promise<Result> {
  await round();
  const per: { ns: number; system: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    await round();
    const d = process.cpuUsage(start);
    per.push({
      ns: ((d.user + d.system) * 1000) / opsPerRound,
      system: d.system / (d.user + d.system),
    });
  }
  per.sort((a, b) => a.ns - b.ns);
  const median = per[Math.floor(per.length / 2)]!;
  const spread = (per[per.length - 1]!.ns - per[0]!.ns) / median.ns;
  return { name, nsPerOp: median.ns, spread, ops: opsPerRound, system: median.system };
}

/** Prints results as an aligned table. */
export function print(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const ns =
      r.nsPerOp >= 1000 ? `${(r.nsPerOp / 1000).toFixed(2)} µs` : `${r.nsPerOp.toFixed(0)} ns`;
    const sys = `${(r.system * 100).toFixed(0)}% system`;
    console.log(
      `  ${r.name.padEnd(width)}  ${ns.padStart(10)}/op  ±${(r.spread * 50).toFixed(0)}%  ${sys}`,
    );
  }
}
