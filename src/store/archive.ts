import { compileRoomPatterns } from '../protocol/index.js';
import { SegmentCache, type SegmentCacheOptions } from './segment-cache.js';
import type {
  Archive,
  ArchiveStats,
  RoomKeeping,
  Store,
  StoredMessage,
  WriteTicket,
} from './types.js';

/** Options of the archive around a store (filled from the config). */
export interface ArchiveOptions {
  /** Room patterns of timeline rooms (`vod:*`). */
  timelineRooms: readonly string[];
  /** Room patterns of stored chat rooms. */
  storedRooms: readonly string[];
  /** Most messages waiting for a commit; above it `reserve` refuses. */
  queueSize: number;
  /** Longest wait before a batch is committed, ms. */
  flushMs: number;
  /** Most messages in one batch. @default 2000 */
  maxBatch?: number;
  /**
   * Batches written at once. The store keeps appends in call order (PostgreSQL reserves their
   * `seq` values in call order and writes them side by side; SQLite's thread commits those
   * waiting for it in one transaction), so a second batch is built and sent while the first
   * commits without reordering them.
   * @default 2
   */
  maxInFlight?: number;
  /** Delete messages older than this many days (0: keep them). @default 0 */
  retentionDays?: number;
  /** The rendered-segment cache (segment-cache.ts). @default off */
  segmentCache?: SegmentCacheOptions;
}

/**
 * Batches in flight for a store kind: the embedded store's thread commits the batches waiting for
 * it in one transaction (sqlite/worker.ts: fewer page writes a row), so it gets more at a time.
 */
export function batchesInFlight(kind: string): number {
  return kind === 'sqlite' ? 4 : 2;
}

interface Waiting {
  message: StoredMessage;
  queuedAt: number;
  done(): void;
}

/** A ticket's way back into its archive. */
interface Slots {
  unreserve(): void;
  enqueue(message: StoredMessage): Promise<void>;
}

/** A reserved slot: used once, by a commit or a release. */
class Ticket implements WriteTicket {
  private used = false;

  constructor(private readonly slots: Slots) {}

  commit(message: StoredMessage): Promise<void> {
    if (this.used) return Promise.reject(new Error('write ticket used twice'));
    this.used = true;
    return this.slots.enqueue(message);
  }

  release(): void {
    if (this.used) return;
    this.used = true;
    this.slots.unreserve();
  }
}

const SAMPLES = 1024;
/**
 * Acknowledgements released per event-loop turn once a batch is committed. Each sends its
 * publisher an `ok` (a socket write, 15-20 µs of event loop with its promise chain): 64 hold the
 * loop about 1 ms, so a hot room's publish or fan-out waits at most that long behind them.
 */
const RELEASE_SLICE = 64;

/**
 * Resolves a committed batch's waiters a slice per event-loop turn: 2000 acknowledgements in one
 * turn would hold the loop (and a hot room's fan-out) for tens of ms.
 */
async function release(batch: readonly Waiting[]): Promise<void> {
  for (let i = 0; i < batch.length; i += RELEASE_SLICE) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const end = Math.min(batch.length, i + RELEASE_SLICE);
    for (let k = i; k < end; k++) batch[k]!.done();
  }
}

/**
 * The engine's store step (issue 12): which rooms are stored, and a bounded, batched writer.
 * A publish into a stored room first takes a slot (`reserve`, refused when the queue is full),
 * then, once the broker gave it a position, waits for the batch that commits it. A batch is
 * committed at most `flushMs` after its first message (group commit: one transaction for many
 * comments); a full batch goes at once. Up to `maxInFlight` batches are written at a time, in
 * order. A failed batch goes back to the head of the queue and is retried with back-off, so an
 * acknowledged message is never lost and writing resumes by itself when the database is back
 * (a batch sent behind a failed one may then commit before it: `seq` order, which "load earlier"
 * pages by, can differ from publish order across such a retry).
 */
export class StoreArchive implements Archive {
  private readonly isTimeline: (room: string) => boolean;
  private readonly isStored: (room: string) => boolean;
  private readonly queue: Waiting[] = [];
  private reserved = 0;
  /** Messages in batches being written. */
  private inFlight = 0;
  private batchesInFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private retention: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private readonly counts = { written: 0, batches: 0, refused: 0, errors: 0 };
  private readonly latencies = new Float64Array(SAMPLES);
  private readonly batchSizes = new Float64Array(SAMPLES);
  private latencyCount = 0;
  private lastRoom: string | null = null;
  private lastKeeping: RoomKeeping = null;
  private batchCount = 0;
  readonly segments: SegmentCache;

  constructor(
    readonly store: Store,
    private readonly options: ArchiveOptions,
  ) {
    this.isTimeline = compileRoomPatterns(options.timelineRooms);
    this.isStored = compileRoomPatterns(options.storedRooms);
    this.segments = new SegmentCache(
      options.segmentCache ?? { maxBytes: 0, segmentMs: 360_000, ttlMs: 0 },
    );
    const days = options.retentionDays ?? 0;
    if (days > 0) {
      this.retention = setInterval(() => void this.expire(days), 60_000);
      this.retention.unref();
    }
  }

  keeping(room: string): RoomKeeping {
    // Asked two or three times per publish, mostly for the room asked last (an ingest, a hot
    // room): the last answer is kept rather than matching the patterns again.
    if (room === this.lastRoom) return this.lastKeeping;
    const keeping = this.isTimeline(room) ? 'timeline' : this.isStored(room) ? 'stored' : null;
    this.lastRoom = room;
    this.lastKeeping = keeping;
    return keeping;
  }

  reserve(): WriteTicket | null {
    if (this.closed || this.depth() >= this.options.queueSize) {
      this.counts.refused++;
      return null;
    }
    this.reserved++;
    return new Ticket(this.slots);
  }

  /** What a ticket does with its slot (one object for all tickets: no closures per publish). */
  private readonly slots: Slots = {
    unreserve: () => {
      this.reserved--;
    },
    enqueue: (message) =>
      new Promise<void>((resolve) => {
        this.reserved--;
        this.queue.push({ message, queuedAt: performance.now(), done: resolve });
        if (this.queue.length >= this.maxBatch() && this.failures === 0) this.flush();
        else this.schedule(this.options.flushMs);
      }),
  };

  stats(): ArchiveStats {
    const sorted = this.latencies.slice(0, Math.min(this.latencyCount, SAMPLES)).sort();
    const q = (p: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    const sizes = this.batchSizes.slice(0, Math.min(this.batchCount, SAMPLES));
    return {
      kind: this.store.kind,
      ok: this.store.health().ok && this.failures === 0,
      queueDepth: this.depth(),
      queueLimit: this.options.queueSize,
      ...this.counts,
      writeP50Ms: q(0.5),
      writeP99Ms: q(0.99),
      meanBatch: sizes.length === 0 ? 0 : sizes.reduce((a, b) => a + b, 0) / sizes.length,
      segmentCache: this.segments.stats(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retention) clearInterval(this.retention);
    // A last chance for what is queued (a few seconds), then the store goes.
    const deadline = Date.now() + 5000;
    while ((this.queue.length > 0 || this.inFlight > 0) && Date.now() < deadline) {
      this.flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    if (this.timer) clearTimeout(this.timer);
    await this.store.close();
  }

  private depth(): number {
    return this.reserved + this.queue.length + this.inFlight;
  }

  private maxBatch(): number {
    return this.options.maxBatch ?? 2000;
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delayMs);
  }

  /** Starts batches from the head of the queue while fewer than `maxInFlight` are being written. */
  private flush(): void {
    const most = this.options.maxInFlight ?? 2;
    while (this.batchesInFlight < most && this.queue.length > 0) {
      void this.write(this.queue.splice(0, this.maxBatch()));
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    this.batchesInFlight++;
    this.inFlight += batch.length;
    try {
      const messages = batch.map((w) => w.message);
      await this.store.append(messages);
      // Before any acknowledgement: a publisher that got `ok` reads its comment in the segment.
      this.segments.written(messages);
      this.failures = 0;
      const now = performance.now();
      for (const w of batch) this.latencies[this.latencyCount++ % SAMPLES] = now - w.queuedAt;
      this.batchSizes[this.batchCount++ % SAMPLES] = batch.length;
      this.counts.written += batch.length;
      this.counts.batches++;
      await release(batch);
    } catch {
      // Back to the head of the queue, in order; retried after a growing pause (at most 2 s).
      this.queue.unshift(...batch);
      this.counts.errors++;
      this.failures++;
    } finally {
      this.batchesInFlight--;
      this.inFlight -= batch.length;
    }
    if (this.queue.length === 0) return;
    if (this.failures === 0) this.flush();
    else this.schedule(Math.min(2000, 50 * 2 ** (this.failures - 1)));
  }

  private async expire(days: number): Promise<void> {
    try {
      const removed = await this.store.expire(Date.now() - days * 86_400_000, 100_000);
      if (removed > 0) this.segments.clear();
    } catch {
      // The store is down: the next round tries again.
    }
  }
}
