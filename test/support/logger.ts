import type { Logger } from '../../src/log.js';

/** One line a `recordingLogger` kept. */
export interface Logged {
  level: string;
  fields: Record<string, unknown>;
  message?: string;
}

/** A logger that keeps every line in `lines`, for tests that assert what was logged. */
export function recordingLogger(lines: Logged[]): Logger {
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}
