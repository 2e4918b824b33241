import { createRequire } from 'node:module';
import { type DestinationStream, pino } from 'pino';
import type { LogFormat, LogLevel } from '../config/index.js';
import type { Logger } from '../log.js';

/** How the process logger writes. */
export interface LoggerOptions {
  level: LogLevel;
  /** `json`: one JSON object a line; `pretty`: human-readable; `auto`: pretty on a terminal. */
  format: LogFormat;
  /** Fields on every line (the node id, or the supervisor's role). */
  bindings?: Record<string, unknown>;
  /** Where lines go instead of stdout (tests). */
  destination?: DestinationStream;
  /** Whether the destination is a terminal; default: stdout's. */
  isTTY?: boolean;
}

/** Fields that could carry a credential: redacted as a second line of defence (the code never logs them). */
const REDACT = ['token', 'apiKey', 'jwtSecret', 'authorization', 'password'].flatMap((field) => [
  field,
  `*.${field}`,
]);

/** pino-pretty (CommonJS), loaded only when a logger writes pretty lines. */
function prettyStream(options: import('pino-pretty').PrettyOptions): DestinationStream {
  const load = createRequire(import.meta.url);
  return (load('pino-pretty') as typeof import('pino-pretty')).build(options);
}

/** The format `auto` picks: pretty for a person at a terminal, JSON for a pipe or a collector. */
export function effectiveLogFormat(format: LogFormat, isTTY: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/**
 * The process logger: pino writing JSON lines to stdout (pino's own buffered destination, flushed
 * at exit), or human-readable lines through pino-pretty run in this thread and synchronously (no
 * transport worker: a person's terminal needs no throughput, and a line is out before a crash).
 * Redaction happens in pino before either format sees a line.
 */
export function createLogger(options: LoggerOptions): Logger {
  const isTTY = options.isTTY ?? process.stdout.isTTY === true;
  const format = effectiveLogFormat(options.format, isTTY);
  const destination =
    format === 'pretty'
      ? prettyStream({
          sync: true,
          colorize: isTTY && !process.env.NO_COLOR,
          destination: options.destination ?? 1,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
          singleLine: true,
        })
      : (options.destination ?? pino.destination(1));
  return pino(
    {
      level: options.level,
      base: options.bindings ?? {},
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    destination,
  );
}
