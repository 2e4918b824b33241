/**
 * A room's recent message rate from two fixed buckets (the current and the previous quarter
 * second), blended by how far the current bucket has run. O(1) per message, no timers.
 */
export class RateMeter {
  private bucketStart = 0;
  private current = 0;
  private previous = 0;

  constructor(private readonly bucketMs = 250) {}

  /** Counts `n` (one message, or a message's deliveries) at `now`. */
  add(now: number, n = 1): void {
    this.roll(now);
    this.current += n;
  }

  /** Messages per second over about the last bucket. */
  perSecond(now: number): number {
    this.roll(now);
    const elapsed = Math.min(1, (now - this.bucketStart) / this.bucketMs);
    const recent = this.previous * (1 - elapsed) + this.current;
    return (recent * 1000) / this.bucketMs;
  }

  private roll(now: number): void {
    const gap = now - this.bucketStart;
    if (gap < this.bucketMs) return;
    this.previous = gap < 2 * this.bucketMs ? this.current : 0;
    this.current = 0;
    this.bucketStart = now - (gap % this.bucketMs);
  }
}

/**
 * Deliveries a second (members x messages a second) up to which a room is quiet: each message
 * goes out at once. Above it the room's frames cost enough (about 5-9 µs of CPU each) to be
 * worth merging: 20 000 frames a second is a tenth to a fifth of a core.
 */
export const QUIET_DELIVERIES = 20_000;

/**
 * Deliveries a second on the whole node (every room's members x rate) up to which each room is
 * judged alone. Above it the node is busy and every room's quiet mark shrinks in proportion
 * (`nodeQuietDeliveries`): at 100 000 unmerged deliveries a second (about half a core of frames)
 * many rooms each just under QUIET_DELIVERIES would otherwise take the node's CPU between them.
 */
export const NODE_QUIET_DELIVERIES = 100_000;

/**
 * A room's quiet mark (deliveries a second) while the node carries `nodeDeliveries` a second in
 * all: QUIET_DELIVERIES while the node is within `nodeBudget`, else scaled down by budget / load,
 * so twice the budget halves the mark and rooms merge sooner. The node's load is deliveries, not
 * frames: merging does not lower it, so the mark does not swing back and forth as rooms merge.
 */
export function nodeQuietDeliveries(
  nodeDeliveries: number,
  nodeBudget = NODE_QUIET_DELIVERIES,
): number {
  if (nodeDeliveries <= nodeBudget) return QUIET_DELIVERIES;
  return (QUIET_DELIVERIES * nodeBudget) / nodeDeliveries;
}

/**
 * Frames a second per member above which a room whose members are sampled to a render budget is
 * merged, whatever its size: the sampler picks fairly among the senders of a batch, so it needs
 * batches of several messages to choose from.
 */
export const SAMPLED_FLUSH_RATE = 20;

/**
 * The merge window for a room's current cost, ms. The cost is deliveries a second: the room's
 * rate times its members here. While it is at most `quietDeliveries` each message is sent at
 * once (no added delay; a 3-member room at 100 messages/s stays immediate). Above it the window
 * is the one that brings the room's frames back to about `quietDeliveries` a second: a batch
 * opened by a message waits W ms and takes the rate x W / 1000 messages that arrive meanwhile,
 * so with F = quietDeliveries / members flushes a second wanted, rate / (1 + rate x W / 1000) = F
 * gives W = 1000 / F - 1000 / rate. That grows from 0 with both the rate and the audience (a
 * 5000-member room at 20 messages/s reaches 200 ms), and is never above `maxWindowMs`, the
 * policy's bound on the latency merging adds. `flushCap` lowers F (see SAMPLED_FLUSH_RATE);
 * a busy node lowers `quietDeliveries` (see nodeQuietDeliveries).
 */
export function adaptiveWindowMs(
  ratePerSecond: number,
  members: number,
  maxWindowMs: number,
  flushCap = Number.POSITIVE_INFINITY,
  quietDeliveries = QUIET_DELIVERIES,
): number {
  // Flushes a second the room may take (Infinity with no members here: nothing to merge for).
  const flushes = Math.min(quietDeliveries / members, flushCap);
  if (maxWindowMs <= 0 || ratePerSecond <= flushes) return 0;
  return Math.min(maxWindowMs, 1000 / flushes - 1000 / ratePerSecond);
}
