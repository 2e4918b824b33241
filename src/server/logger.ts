import { pino } from 'pino';
import type { Logger } from '../log.js';

/**
 * The process logger (pino, JSON lines on stdout). Fields that could carry a credential are
 * redacted as a second line of defence: the code never logs them in the first place.
 */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { nodeId },
    redact: {
      paths: [
        'token',
        'apiKey',
        'jwtSecret',
        'authorization',
        '*.token',
        '*.apiKey',
        '*.jwtSecret',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
