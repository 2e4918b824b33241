/** Options of the group Operations (schema.ts): logs, the demo pages and shutdown. */
import type { OptionSpec } from '../option-spec.js';

export const OPERATIONS_OPTIONS = {
  logLevel: {
    type: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    group: 'Operations',
    help: 'Log level',
  },
  logFormat: {
    type: 'enum',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    group: 'Operations',
    help: 'Log lines: json (one object a line, for a collector) or pretty (for a person); auto is pretty when stdout is a terminal, json otherwise',
  },
  web: {
    type: 'bool',
    default: true,
    group: 'Operations',
    help: 'Serve the demo page at / and the dashboard at /dashboard',
  },
  shutdownTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 100,
    max: 600_000,
    group: 'Operations',
    help: 'Longest graceful shutdown before exit, ms',
  },
} as const satisfies Record<string, OptionSpec>;
