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
  /** User-space CPU ns per operation, median round (the part a library change can move). */
  userNsPerOp: number;
}

/** One round's CPU, ns per operation. */
interface Sample {
  ns: number;
  userNs: number;
  system: number;
}

/** The median sample by total CPU, as a Result. */
export function summarize(name: string, ops: number, samples: Sample[]): Result {
  const byNs = [...samples].sort((a, b) => a.ns - b.ns);
  const median = byNs[Math.floor(byNs.length / 2)]!;
  const users = samples.map((s) => s.userNs).sort((a, b) => a - b);
  return {
    name,
    nsPerOp: median.ns,
    spread: (byNs[byNs.length - 1]!.ns - byNs[0]!.ns) / median.ns,
    ops,
    system: median.system,
    userNsPerOp: users[Math.floor(users.length / 2)]!,
  };
}

/** Runs `round` once (it performs `ops` operations) and returns its CPU per operation. */
export async function sample(ops: number, round: () => void | Promise<void>): Promise<Sample> {
  const start = process.cpuUsage();
  await round();
  const d = process.cpuUsage(start);
  const cpu = d.user + d.system;
  return {
    ns: (cpu * 1000) / ops,
    userNs: (d.user * 1000) / ops,
    system: cpu > 0 ? d.system / cpu : 0,
  };
}

/** Shortest measured round: getrusage-based CPU clocks tick coarsely, so rounds must be long. */
const MIN_ROUND_MS = 200;

/**
 * Runs `round` (which performs `opsPerRound` operations and may await) once to warm up, then
 * `rounds` times, each repeated until it lasted MIN_ROUND_MS, and reports the median CPU ns per
 * operation.
 */
export async function measure(
  name: string,
  opsPerRound: number,
  round: () => void | Promise<void>,
  rounds = 5,
): Promise<Result> {
  await round();
  const per: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    const t0 = performance.now();
    let ops = 0;
    for (let k = 0; k < 100_000 && (k === 0 || performance.now() - t0 < MIN_ROUND_MS); k++) {
      await round();
      ops += opsPerRound;
    }
    const d = process.cpuUsage(start);
    const cpu = d.user + d.system;
    per.push({
      ns: (cpu * 1000) / ops,
      userNs: (d.user * 1000) / ops,
      system: cpu > 0 ? d.system / cpu : 0,
    });
  }
  return summarize(name, opsPerRound, per);
}

/** Prints results as an aligned table. */
export function print(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const cols = [
      r.name.padEnd(width),
      `${fmtNs(r.nsPerOp).padStart(10)}/op`,
      `±${(r.spread * 50).toFixed(0)}%`.padStart(5),
      `${(r.system * 100).toFixed(0)}% system`,
      `user ${fmtNs(r.userNsPerOp)}/op`,
    ];
    console.log(`  ${cols.join('  ')}`);
  }
}

function fmtNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
