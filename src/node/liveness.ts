import { CLOSE, PING_LINE } from '../protocol/index.js';
import { Liveness, type Session } from '../session/index.js';

/** What one sweep did, for counters and logs. */
export interface SweepResult {
  pinged: number;
  probed: number;
  dead: number;
  authTimeouts: number;
  expired: number;
}

/**
 * One pass of the heartbeat sweep over every session: ping the quiet, terminate the silent,
 * close those past their auth deadline or credential expiry. One interval for all connections
 * instead of a timer each.
 */
export function sweepSessions(
  sessions: Iterable<Session>,
  now: number,
  heartbeatMs: number,
  authTimeoutMs: number | null,
): SweepResult {
  const result: SweepResult = { pinged: 0, probed: 0, dead: 0, authTimeouts: 0, expired: 0 };
  for (const session of sessions) {
    if (session.closed) continue;
    const deadline = authTimeoutMs === null ? null : session.connectedAt + authTimeoutMs;
    switch (session.liveness(now, heartbeatMs, deadline)) {
      case Liveness.NeedsPing:
        session.send(PING_LINE, false, now);
        result.pinged++;
        break;
      case Liveness.NeedsProbe:
        session.probe(now);
        result.probed++;
        break;
      case Liveness.Dead:
        session.terminate();
        result.dead++;
        break;
      case Liveness.AuthTimeout:
        session.closeWith(CLOSE.authTimeout);
        result.authTimeouts++;
        break;
      case Liveness.Expired:
        session.closeWith(CLOSE.unauthorized, 'token expired');
        result.expired++;
        break;
      default:
        break;
    }
  }
  return result;
}
