import { CLOSE, PING_LINE } from '../protocol/index.js';
import { Liveness, type Session } from '../session/index.js';

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
): void {
  for (const session of sessions) {
    if (session.closed) continue;
    const deadline = authTimeoutMs === null ? null : session.connectedAt + authTimeoutMs;
    switch (session.liveness(now, heartbeatMs, deadline)) {
      case Liveness.NeedsPing:
        session.send(PING_LINE, false, now);
        break;
      case Liveness.NeedsProbe:
        session.probe(now);
        break;
      case Liveness.Dead:
        session.terminate();
        break;
      case Liveness.AuthTimeout:
        session.closeWith(CLOSE.authTimeout);
        break;
      case Liveness.Expired:
        session.closeWith(CLOSE.unauthorized, 'token expired');
        break;
      default:
        break;
    }
  }
}
