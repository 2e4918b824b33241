import { CLOSE, PING_LINE } from '../protocol/index.js';
import { Liveness, type Session } from '../session/index.js';

/**
 * One pass of the heartbeat sweep over every session: ping the quiet, close the silent (4003),
 * close those past their auth deadline or credential expiry, and those whose send queue stalled.
 * One interval for all connections instead of a timer each. Returns how many were closed for a
 * stalled send queue (for the `stalledCloses` counter).
 */
export function sweepSessions(
  sessions: Iterable<Session>,
  now: number,
  heartbeatMs: number,
  authTimeoutMs: number | null,
): number {
  let stalled = 0;
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
        // Told why (4003) in case it still reads; the transport destroys the socket after its
        // grace period when, as usual, nobody answers the close.
        session.closeWith(CLOSE.noPong);
        break;
      case Liveness.AuthTimeout:
        session.closeWith(CLOSE.authTimeout);
        break;
      case Liveness.Expired:
        session.closeWith(CLOSE.unauthorized, 'token expired');
        break;
      case Liveness.Stalled:
        // The close frame waits behind the stuck bytes; the transport destroys the socket after
        // its grace period, which frees the queue either way.
        session.closeWith(CLOSE.tooSlow, 'too slow; stalled');
        stalled++;
        break;
      default:
        break;
    }
  }
  return stalled;
}
