import type { Session } from '../session/index.js';
import { RateMeter } from './rate.js';
import { SenderTurns } from './sampling.js';

/** How a room's messages are delivered. */
export interface RoomPolicy {
  /**
   * The merge window, ms; 0: never merge. With `adaptive`, the longest window: 0 (each message
   * sent at once) while the room is quiet, growing to this when it is hot.
   */
  mergeWindowMs: number;
  /** Adapt the window to the rate (as above); otherwise every batch waits the whole window. */
  adaptive?: boolean;
  /** Lossy (danmaku) messages are skipped for a session over its soft mark; reliable ones never. */
  lossy: boolean;
}

/** A frame a joining session must see or skip once it knows the offset its `joined` covers. */
export interface HeldFrame {
  frame: Buffer;
  lines: readonly Buffer[];
  offsets: readonly number[];
}

/**
 * A session mid-join: frames flushed while its history is fetched are held; once its `joined`
 * went out with offset `readyAfter`, it waits for the batch pending at that moment to flush,
 * takes the lines of it after `readyAfter`, and becomes a member.
 */
export interface JoinState {
  held: HeldFrame[];
  readyAfter: number | null;
  /** The render budget the session declared, messages a second (0: no limit). */
  budget: number;
}

/** The members of a room that share one render budget, and the sampling credit they carry. */
export class Tier {
  readonly members = new Set<Session>();
  /** Fractional quota carried from batch to batch, so small batches average to the budget. */
  credit = 0;
  /** Which senders this tier served recently, for fairness across batches. */
  readonly turns = new SenderTurns();

  constructor(
    /** Messages a second; 0: everything. */
    readonly budget: number,
  ) {}
}

/** One room on this node: its members, its pending batch and the sessions mid-join. */
export class Room {
  /** Sessions that receive the room's frames. */
  readonly members = new Set<Session>();
  /** Sessions mid-join (see JoinState). */
  readonly joining = new Map<Session, JoinState>();
  /** Lines of the batch being merged, with their offsets, oldest first. */
  pendingLines: Buffer[] = [];
  pendingOffsets: number[] = [];
  /** Bytes of the pending batch, to flush early before a frame grows too large. */
  pendingBytes = 0;
  /** When the oldest pending line arrived, ms. */
  pendingSince = 0;
  /** The flush timer of a merge window, when one is running. */
  timer: NodeJS.Timeout | null = null;
  /**
   * An adaptive room at window 0 flushes once this turn of the event loop has read its input, so
   * messages that queued up while the process was busy (a long fan-out, a GC pause, a starved
   * core) leave as one frame instead of each blocking the next: see Hub.deliver.
   */
  immediate: NodeJS.Immediate | null = null;
  /** The highest offset seen live, to detect gaps. */
  lastOffset = 0;
  /** Messages received for this room since it was created on this node. */
  messagesIn = 0;
  /** Frames (batches) written for this room: messagesIn / batches is its merge ratio. */
  batches = 0;
  /** Messages skipped for members over their soft mark. */
  droppedSlow = 0;
  /** The room's recent message rate. */
  readonly rate = new RateMeter();
  /** The online count last announced in a `presence` message. */
  announcedOnline = -1;
  /** Members grouped by render budget (0: unlimited); one frame is built per tier per batch. */
  readonly tiers = new Map<number, Tier>();
  /** Offsets of lines published by this node's members, so sampling never hides their own. */
  readonly own = new Map<number, Session>();
  /** The last offset written in a frame. */
  flushedThrough = 0;
  /** Messages sampled out for budgeted members (one per message per member). */
  sampledOut = 0;

  constructor(
    readonly name: string,
    readonly policy: RoomPolicy,
  ) {}

  /** Adds a member in the tier of its budget (already rounded by budgetTier). */
  addMember(session: Session, budget: number): void {
    this.members.add(session);
    let tier = this.tiers.get(budget);
    if (!tier) {
      tier = new Tier(budget);
      this.tiers.set(budget, tier);
    }
    tier.members.add(session);
  }

  /** Removes a member (if it is one) from the room and its tier. */
  removeMember(session: Session): void {
    if (!this.members.delete(session)) return;
    // A member is in exactly one tier, and tiers are few (budgetTier): looked up here rather
    // than kept in a map with an entry per member.
    for (const tier of this.tiers.values()) {
      if (!tier.members.delete(session)) continue;
      if (tier.members.size === 0) this.tiers.delete(tier.budget);
      return;
    }
  }

  /** Members plus sessions mid-join: the node's local online count for the room. */
  get localCount(): number {
    return this.members.size + this.joining.size;
  }

  /** Whether some member's render budget is below `rate`, so its tier gets a sample. */
  samples(rate: number): boolean {
    for (const budget of this.tiers.keys()) if (budget > 0 && rate > budget) return true;
    return false;
  }

  /** Whether nobody on this node is in the room any more. */
  get isEmpty(): boolean {
    return this.members.size === 0 && this.joining.size === 0;
  }
}
