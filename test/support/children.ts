/**
 * Server processes a test started (redis-server, postgres): each is SIGKILLed when the test
 * process exits, so a failed or interrupted test never leaves one behind.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let exitHook = false;

/** Tracks `child` until it exits; returns it. Its stderr is drained so it never blocks. */
export function tracked(child: ChildProcess): ChildProcess {
  child.stderr?.resume();
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    });
  }
  return child;
}
