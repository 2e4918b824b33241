import type { ErrorCode } from '../protocol/index.js';

/**
 * A refusal with a contract error code. Thrown by the engine and by hooks; the gateway turns it
 * into an `error` reply and the API into an HTTP status.
 */
export class ReplyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** When the refusal ends, ms from now (sent as the error's `retryAfterMs`). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ReplyError';
  }
}
