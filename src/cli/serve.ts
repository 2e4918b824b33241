import cluster from 'node:cluster';
import { flagsHelp, workerCount } from '../config/index.js';
import { createLogger, createServer } from '../server/index.js';
import { configFromFlags, parseServerFlags } from './args.js';
import { oneCpuGcHint } from './gc-hint.js';
import { superviseWorkers, workerIndex } from './workers.js';

/** `barrage serve --help`. */
export const SERVE_HELP = `Usage: barrage serve [flags]

Starts a Barrage node: WebSocket at /ws, HTTP API at /api, demo page at /, dashboard at
/dashboard, Prometheus metrics at /metrics. With no Redis configured it runs alone on the
embedded broker. Each flag is also an env var and a key of the --config JSON file;
precedence: defaults < file < env < flags. A --[no-]flag is on by --flag, off by --no-flag,
or set by --flag true|false.

  --config <file>                      JSON config file with camelCase keys
  -h, --help                           this help

${flagsHelp()}`;

/** Runs the server until SIGTERM or SIGINT; resolves with the exit code. */
export async function serve(argv: string[]): Promise<number> {
  const values = parseServerFlags(argv, {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const config = configFromFlags(values);
  const workers = workerCount(config.workers);
  if (workers > 1 && cluster.isPrimary) {
    const log = createLogger({
      level: config.logLevel,
      format: config.logFormat,
      bindings: { role: 'supervisor' },
    });
    return superviseWorkers(workers, config.shutdownTimeoutMs, log);
  }
  const index = workerIndex();
  const nodeId = index === null || !config.nodeId ? config.nodeId : `${config.nodeId}-w${index}`;
  const server = await createServer({ ...config, nodeId });
  await server.listen();
  // Once per machine, not once per worker.
  const hint = index === null || index === 0 ? oneCpuGcHint() : null;
  if (hint) server.node.log.info({}, hint);
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      const force = setTimeout(() => {
        process.stderr.write(
          `barrage: shutdown took longer than ${config.shutdownTimeoutMs} ms, exiting\n`,
        );
        resolve(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      server.close().then(
        () => {
          // A worker's IPC channel to its supervisor would keep it alive after a clean close.
          if (cluster.isWorker) process.disconnect();
          resolve(0);
        },
        () => resolve(1),
      );
    };
    const onTerm = () => stop();
    const onInt = () => stop();
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
}
