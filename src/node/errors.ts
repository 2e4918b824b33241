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

/**
 * A broker call's failure as the engine reports it (`unavailable` when the broker is down). The
 * client gets the kind of failure only ("the broker is unreachable; try again later"): the
 * broker's full text names Redis's address and the driver's cause, which stay in the server log
 * (the broker's `redis lost` line, /healthz's `broker unhealthy` line).
 */
export function brokerFailure(err: unknown): unknown {
  if (!(err instanceof BrokerUnavailableError)) return err;
  const kind = err.message.split(':', 1)[0] ?? 'the broker is unavailable';
  return new ReplyError('unavailable', `${kind}; try again later`);
}
