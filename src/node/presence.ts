import type { Broker } from '../broker/types.js';
import type { Hub } from '../hub/index.js';
import type { Logger } from '../log.js';
import { presenceLine } from '../protocol/index.js';

/**
 * Online counts without a broker round trip per join: each tick shares this node's per-room
 * counts with the broker, reads the other nodes' counts, and announces a room's total to its
 * members when it changed since the last announcement (so `presence` is coalesced per tick).
 */
export class PresenceTracker {
  private readonly remote = new Map<string, number>();
  private running = false;
  /** The last tick failed (its warning is logged once per outage). */
  private failing = false;

  constructor(
    private readonly hub: Hub,
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  /** The other nodes' last known count for a room. */
  remoteCount(room: string): number {
    return this.remote.get(room) ?? 0;
  }

  /** One tick: report, read, announce. Skipped while the previous tick is still running. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const counts = new Map<string, number>();
      for (const room of this.hub.rooms.values()) counts.set(room.name, room.localCount);
      await this.broker.reportOnline(counts);
      const remote = await this.broker.remoteOnline([...counts.keys()]);
      this.remote.clear();
      for (const [room, n] of remote) this.remote.set(room, n);
      this.announce();
      if (this.failing) this.log.info({}, 'presence ticks work again');
      this.failing = false;
    } catch (err) {
      // Once per outage: the broker logs the outage itself, a line a second adds nothing.
      if (!this.failing) this.log.warn({ err: (err as Error).message }, 'presence tick failed');
      this.failing = true;
      this.announce();
    } finally {
      this.running = false;
    }
  }

  private announce(): void {
    for (const room of this.hub.rooms.values()) {
      const online = room.localCount + (this.remote.get(room.name) ?? 0);
      if (online === room.announcedOnline) continue;
      room.announcedOnline = online;
      this.hub.sendToRoom(room.name, presenceLine(room.name, online), true);
    }
  }
}
