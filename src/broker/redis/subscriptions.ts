/**
 * Desired versus actual pub/sub subscriptions. Callers only say what they want; one loop at a time
 * sends SUBSCRIBE / UNSUBSCRIBE for the difference, in batches. That makes subscribe and
 * unsubscribe idempotent and safe to race (a subscribe still in flight when the unsubscribe comes
 * is followed by an UNSUBSCRIBE in the next pass), and lets a lost connection be repaired by
 * marking everything wanted as not held and running the loop again.
 */
import { BrokerUnavailableError } from '../types.js';

/** The commands the manager needs. */
export interface SubscribeCommands {
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
}

/** Most passes of one loop; each pass waits for Redis, so this only bounds a pathological race. */
const MAX_PASSES = 1000;
/** Most channels per SUBSCRIBE / UNSUBSCRIBE command. */
const BATCH = 500;

/** Keeps Redis subscriptions equal to the wanted set. */
export class Subscriptions {
  private readonly desired = new Set<string>();
  private readonly actual = new Set<string>();
  /** Channels whose actual state may differ from the desired one. */
  private readonly dirty = new Set<string>();
  /** Wanted channels Redis does not hold, with when they started waiting (oldest first). */
  private readonly waiting = new Map<string, number>();
  private running: Promise<void> | null = null;
  /** Bumped on every loss, so a reply from the old connection is not taken as current. */
  private generation = 0;

  /**
   * @param commands where SUBSCRIBE / UNSUBSCRIBE go
   * @param confirmed called with channels Redis has just confirmed as subscribed
   */
  constructor(
    private readonly commands: SubscribeCommands,
    private readonly confirmed: (channels: readonly string[]) => void,
  ) {}

  /** Wants a channel; resolves once Redis holds it, rejects (still wanted) if Redis is away. */
  async want(channel: string): Promise<void> {
    this.desired.add(channel);
    if (!this.actual.has(channel)) this.wait(channel);
    // Held and nothing in flight that could be dropping it: done.
    if (this.actual.has(channel) && this.running === null) return;
    this.dirty.add(channel);
    await this.flush();
    if (this.desired.has(channel) && !this.actual.has(channel)) {
      throw new BrokerUnavailableError('redis: subscription not confirmed');
    }
  }

  /** No longer wants a channel; resolves once Redis dropped it (or the connection is gone). */
  async unwant(channel: string): Promise<void> {
    this.desired.delete(channel);
    this.waiting.delete(channel);
    // Not held and nothing in flight that could be adding it: done.
    if (!this.actual.has(channel) && this.running === null) {
      this.dirty.delete(channel);
      return;
    }
    this.dirty.add(channel);
    await this.flush();
  }

  /** Whether a channel is wanted. */
  wants(channel: string): boolean {
    return this.desired.has(channel);
  }

  /** Whether Redis has confirmed the channel (and no loss was seen since). */
  holds(channel: string): boolean {
    return this.actual.has(channel);
  }

  /** The subscriber connection was lost: nothing is held any more, everything wanted is dirty. */
  lost(): void {
    this.generation++;
    this.actual.clear();
    this.dirty.clear();
    for (const channel of this.desired) {
      this.dirty.add(channel);
      this.wait(channel);
    }
  }

  /**
   * How many wanted channels Redis does not hold, and for how long the oldest of them has been
   * waiting, ms (0 when none). A dead or refused subscription shows here while commands work.
   */
  unheld(now = Date.now()): { channels: number; forMs: number } {
    for (const since of this.waiting.values()) {
      return { channels: this.waiting.size, forMs: Math.max(0, now - since) };
    }
    return { channels: 0, forMs: 0 };
  }

  /** Changes on every loss of the subscriber connection. */
  get epoch(): number {
    return this.generation;
  }

  /** Whether some channel still waits for its (un)subscribe. */
  get pending(): boolean {
    return this.dirty.size > 0;
  }

  /** Channels wanted. */
  get size(): number {
    return this.desired.size;
  }

  /** Runs the loop until nothing is dirty; rejects with the first Redis failure. */
  flush(): Promise<void> {
    if (!this.running) this.running = this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    await null; // `running` is assigned before this can finish
    try {
      for (let pass = 0; pass < MAX_PASSES && this.dirty.size > 0; pass++) await this.pass();
    } finally {
      // Cleared before any awaiter resumes: a caller that finds it set may rely on the loop
      // looking at `dirty` again.
      this.running = null;
    }
  }

  /** Starts the waiting clock of a channel unless it already runs (keeps the map in time order). */
  private wait(channel: string): void {
    if (!this.waiting.has(channel)) this.waiting.set(channel, Date.now());
  }

  /** One batch of SUBSCRIBE / UNSUBSCRIBE for dirty channels. */
  private async pass(): Promise<void> {
    const add: string[] = [];
    const remove: string[] = [];
    for (const channel of this.dirty) {
      const wanted = this.desired.has(channel);
      if (wanted && !this.actual.has(channel)) add.push(channel);
      else if (!wanted && this.actual.has(channel)) remove.push(channel);
      this.dirty.delete(channel);
      if (add.length + remove.length >= BATCH) break;
    }
    const generation = this.generation;
    try {
      if (add.length > 0) {
        await this.commands.subscribe(add);
        if (generation !== this.generation) return; // lost meanwhile: lost() re-dirtied them
        for (const channel of add) {
          this.actual.add(channel);
          this.waiting.delete(channel);
          // Unwanted while the SUBSCRIBE was in flight: undo in a later pass.
          if (!this.desired.has(channel)) this.dirty.add(channel);
        }
        this.confirmed(add.filter((channel) => this.desired.has(channel)));
      }
      if (remove.length > 0) {
        await this.commands.unsubscribe(remove);
        if (generation !== this.generation) return;
        for (const channel of remove) {
          this.actual.delete(channel);
          // Wanted again while the UNSUBSCRIBE was in flight: subscribe in a later pass.
          if (this.desired.has(channel)) {
            this.dirty.add(channel);
            this.wait(channel);
          }
        }
      }
    } catch (err) {
      if (generation !== this.generation) return;
      // Not done: keep them for the next flush (heartbeat or reconnect).
      for (const channel of add) if (!this.actual.has(channel)) this.dirty.add(channel);
      for (const channel of remove) this.dirty.add(channel);
      throw new BrokerUnavailableError(`redis: ${(err as Error).message}`);
    }
  }
}
