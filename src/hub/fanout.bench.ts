/**
 * Micro-benchmark of the fan-out loop without sockets: a room message through Hub.deliver and
 * flush to N sessions whose transport only counts bytes, so the figure is the per-member cost of
 * the hub and the session's send path (marks, counters) beyond the socket write.
 * Run: `npm run bench:micro -- fanout` (or `node --import tsx src/hub/fanout.bench.ts`).
 */
import { measure, print, type Result } from '../../bench/micro/timing.js';
import { messageLine, messageParts } from '../protocol/index.js';
import { Session, type SessionLimits, type Transport } from '../session/index.js';
import { Hub } from './hub.js';

const LIMITS: SessionLimits = {
  sendSoftLimitBytes: 1 << 20,
  sendHardLimitBytes: 1 << 22,
  publishRate: 10,
  publishBurst: 10,
  commandRate: 10,
  commandBurst: 10,
};

/** A socket that takes every frame at once: bufferedAmount stays 0. */
class CountingTransport implements Transport {
  bytes = 0;
  readonly bufferedAmount = 0;
  send(frame: Buffer): boolean {
    this.bytes += frame.length;
    return true;
  }
  ping(): void {}
  close(): void {}
  terminate(): void {}
}

const MESSAGES = 200;
const results: Result[] = [];
for (const members of [1000, 10_000]) {
  for (const lossy of [true, false]) {
    const hub = new Hub({ policyFor: () => ({ mergeWindowMs: 0, lossy }) });
    for (let i = 0; i < members; i++) {
      const session = new Session(`c${i}`, '127.0.0.1', new CountingTransport(), LIMITS, 0);
      hub.addSession(session);
      const room = hub.join(session, 'live:r');
      hub.completeJoin(room, session, 0);
    }
    const parts = messageParts('live:r', '{"text":"hello"}', 1_796_000_000_000, 'u1');
    let offset = 0;
    results.push(
      await measure(
        `${members} members, ${lossy ? 'lossy' : 'reliable'}`,
        MESSAGES * members,
        () => {
          for (let i = 0; i < MESSAGES; i++) {
            offset++;
            hub.deliver('live:r', offset, messageLine(parts, offset));
          }
        },
      ),
    );
  }
}
print('hub fan-out (no sockets), CPU per delivery', results);
