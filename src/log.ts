/**
 * The logger the engine writes to: a structural subset of pino's, so parts below `server/` never
 * import pino. Never pass a token or a key in the fields.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  /** Whether lines of `level` are written (pino has it); absent: assume they are. */
  isLevelEnabled?(level: string): boolean;
}

/** A logger that drops everything (for tests and embedding without logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
  isLevelEnabled() {
    return false;
  },
};
