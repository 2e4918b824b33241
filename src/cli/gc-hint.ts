/**
 * The advice `barrage serve` logs when it runs on one CPU without `--single-threaded-gc`
 * (docs/performance.md, "One CPU"). V8 collects garbage with helper threads beside the event loop;
 * with one CPU they do not run beside it but in its place, in the scheduler's time slices, and a
 * scavenge or a concurrent marking then holds the loop for tens of ms. V8's flags are read when the
 * process starts (setting this one later aborts the process), so the node can only say so.
 */
import { availableParallelism } from 'node:os';

/** The V8 flag for a node with one CPU. */
export const ONE_CPU_GC_FLAG = '--single-threaded-gc';

/**
 * The hint for a process that may use `cpus` CPUs (its affinity: `taskset`, a cpuset) and was
 * started with `execArgv`, or null when there is nothing to say.
 */
export function oneCpuGcHint(
  cpus: number = availableParallelism(),
  execArgv: readonly string[] = process.execArgv,
): string | null {
  // V8 takes its flags with - or _ between the words.
  if (cpus > 1 || execArgv.some((a) => a.replaceAll('_', '-') === ONE_CPU_GC_FLAG)) return null;
  return `this node has one CPU: start it with \`node ${ONE_CPU_GC_FLAG} …\` for shorter pauses (docs/performance.md#one-cpu)`;
}
