import { BrokerUnavailableError } from '../broker/types.js';
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

/** Runs a broker call, turning the broker's unavailability into the contract's `unavailable`. */
export async function viaBroker<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw brokerFailure(err);
  }
}

/** A broker call's failure as the engine reports it (`unavailable` when the broker is down). */
export function brokerFailure(err: unknown): unknown {
  return err instanceof BrokerUnavailableError ? new ReplyError('unavailable', err.message) : err;
}
