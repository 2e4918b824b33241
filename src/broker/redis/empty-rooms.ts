/**
 * Rooms this node holds that have never had a message. Their meta (the epoch a joiner was told)
 * lives in Redis for the short empty-room TTL only (see lua/history.lua), renewed here while the
 * node holds the room: the first publish then uses the epoch every member was told, and a room
 * name nobody publishes to is gone from Redis one TTL after its last member left, instead of
 * staying for the 24-hour meta TTL (security.md, "room state flood").
 */
export class EmptyRooms {
  private readonly rooms = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  /**
   * `renew` renews one room's meta and says whether it still needs renewing (false: gone, or the
   * room has had a message and its publishes keep it). Runs every `ttlMs / 3`.
   */
  constructor(
    private readonly renew: (room: string) => Promise<boolean>,
    private readonly ttlMs: number,
  ) {}

  /** Starts renewing; the timer does not keep the process alive. */
  start(): void {
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(50, this.ttlMs / 3));
    this.timer.unref();
  }

  /** The node holds this empty room: keep its meta alive. */
  hold(room: string): void {
    this.rooms.add(room);
  }

  /** The node no longer holds the room: its meta expires within one TTL unless published to. */
  release(room: string): void {
    this.rooms.delete(room);
  }

  /** Rooms being renewed. */
  get size(): number {
    return this.rooms.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async renewAll(): Promise<void> {
    if (this.busy || this.rooms.size === 0) return;
    this.busy = true;
    try {
      await Promise.all(
        [...this.rooms].map(async (room) => {
          try {
            if (!(await this.renew(room))) this.rooms.delete(room);
          } catch {
            // Redis away: retried next time; the broker's health reports it.
          }
        }),
      );
    } finally {
      this.busy = false;
    }
  }
}
