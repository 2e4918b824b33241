import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../server/index.js';

/** Environment variable telling a forked process which worker it is. */
export const WORKER_ENV = 'BARRAGE_WORKER';

/**
 * Runs `count` copies of this command as worker processes sharing the listening port (node's
 * cluster module hands connections out round-robin). A worker that dies unexpectedly is restarted
 * after a back-off; SIGTERM/SIGINT are passed on and the supervisor exits when every worker has.
 * Logs through `log` (the same format as the workers'). Resolves with the exit code.
 */
export function superviseWorkers(
  count: number,
  shutdownTimeoutMs: number,
  log: Logger,
): Promise<number> {
  log.info({ workers: count }, 'starting workers');
  return new Promise((resolve) => {
    let stopping = false;
    let restarts = 0;
    const fork = (index: number): Worker => {
      const worker = cluster.fork({ [WORKER_ENV]: String(index) });
      worker.on('exit', (code, signal) => {
        if (stopping) {
          if (Object.keys(cluster.workers ?? {}).length === 0) {
            log.info({}, 'every worker stopped');
            resolve(0);
          }
          return;
        }
        restarts++;
        const delay = Math.min(10_000, 250 * 2 ** Math.min(restarts, 6));
        log.warn(
          { worker: index, exit: signal ?? code, restartInMs: delay },
          'worker exited; restarting it',
        );
        setTimeout(() => fork(index), delay).unref();
      });
      return worker;
    };
    for (let i = 0; i < count; i++) fork(i);
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
      setTimeout(() => {
        log.error({ timeoutMs: shutdownTimeoutMs + 1000 }, 'workers did not stop in time: killed');
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        resolve(1);
      }, shutdownTimeoutMs + 1000).unref();
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** This process's worker index, or null when it is not a worker. */
export function workerIndex(): number | null {
  if (cluster.isPrimary) return null;
  const index = Number(process.env[WORKER_ENV]);
  return Number.isInteger(index) ? index : null;
}
