/**
 * Timing gates (latency, frame rate, event-loop delay, throughput) are off by default: on a shared
 * 2-core machine running two test files at once they fail for reasons that are not the code's.
 * Tests always assert their correctness claims (the server answers, nothing is lost, memory under a
 * generous cap); `BARRAGE_TIMING_GATES=1` adds the timing bounds, for a quiet machine. The figures
 * themselves are measured by `barrage bench`.
 */
import assert from 'node:assert/strict';

/** True when BARRAGE_TIMING_GATES=1: timing bounds are asserted too. */
export const TIMING_GATES = process.env.BARRAGE_TIMING_GATES === '1';

/** Asserts `ok` only when timing gates are on (see TIMING_GATES). */
export function timingGate(ok: boolean, message: string): void {
  if (TIMING_GATES) assert.ok(ok, message);
}
