/**
 * Counts deliveries on the hot path without parsing JSON or looking at every byte in JS. Every
 * delivered message carries the bench's data, which starts `{"t":<send time in ms>` (MARK).
 *
 * - WebSocket frames (`onFrame`): one delivery per line from the first line holding MARK on
 *   (Barrage merges a room's messages into one frame, one per line; the peers send one per
 *   frame). Lines are counted with Buffer.indexOf for the newline byte (native memchr, ~20-60 ns
 *   a line here, against ~600 ns for a JS scan of every byte). The count stays exact, not
 *   estimated: a server batch holds only the room's messages, each its own line, and a trailing
 *   line without MARK (Barrage's `skipped` after a sampled batch) is not counted, so every
 *   message the server never sent is missing from the count and shows as loss.
 * - SSE chunks (`onEvents`): events are several lines each, so MARK itself is counted.
 *
 * Latency is read from the FIRST delivery of a frame only: the oldest of a merged batch, so the
 * frame's worst, recorded once for each delivery of the frame (an upper bound for each of them;
 * for one-message frames, as the peers send, it is exact). One clock read per frame.
 * `trackFirst` (alerts, one push a frame) still reads every message's sequence number.
 */
import { performance } from 'node:perf_hooks';
import { Histogram, type HistogramData } from '../stats/histogram.js';

const MAX_SECONDS = 3600;
/** Where the bench's data begins in a delivery: `{"t":` (publisher.ts messageData). */
const MARK = Buffer.from('{"t":');
const NEWLINE = 10;
/** Fewer bytes than any delivery: the next MARK is searched for past it. */
const MIN_GAP = 24;

/** Wall-clock milliseconds comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads a non-negative decimal number starting at `pos`; NaN when there is none. */
export function readNumber(buf: Buffer, pos: number): number {
  let i = pos;
  let int = 0;
  let digits = 0;
  const end = Math.min(buf.length, pos + 32);
  while (i < end) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    int = int * 10 + (c - 48);
    i++;
    digits++;
  }
  if (digits === 0) return Number.NaN;
  if (i < end && buf[i] === 46) {
    i++;
    let scale = 0.1;
    while (i < end) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      int += (c - 48) * scale;
      scale /= 10;
      i++;
    }
  }
  return int;
}

/** What one counter has seen since its last reset. */
export interface CounterSnapshot {
  /** Deliveries (messages carrying the bench's data). */
  received: number;
  /** WebSocket frames that carried at least one delivery. */
  frames: number;
  /** Latency in microseconds, one value per delivery (a frame's oldest for each of its deliveries). */
  latency: HistogramData;
  /** Deliveries per second since the reset, index 0 = first second. */
  timeline: number[];
  /**
   * With `trackFirst`: latency of the first delivery of each message (by its `"s"` sequence
   * number), in microseconds; the first device of a user, when its devices share this counter.
   */
  first: HistogramData | null;
}

/** Most sequence numbers remembered for `trackFirst` before the oldest are forgotten. */
const MAX_FIRST = 1_000_000;

/** Accumulates deliveries, frames, latency and a per-second timeline. */
export class DeliveryCounter {
  received = 0;
  frames = 0;
  readonly latency = new Histogram();
  /** First deliveries only (see CounterSnapshot.first); null unless tracking is on. */
  first: Histogram | null = null;
  private seen = new Set<number>();
  /** The last frame counted, with its count and send time (see onFrame). Not copied: callers
   * hand over buffers they never write to again (ws payloads, socket chunks). */
  private lastFrame: Buffer | null = null;
  private lastCount = 0;
  private lastSentMs = Number.NaN;
  private timeline: number[] = [];
  private startMs = nowMs();

  /** Also records the latency of each message's first delivery, by its `"s"` number. */
  trackFirst(): void {
    this.first ??= new Histogram();
  }

  /** Starts a new measurement at `startMs` (a shared clock value, so timelines line up). */
  reset(startMs: number): void {
    this.received = 0;
    this.frames = 0;
    this.latency.reset();
    this.first?.reset();
    this.seen.clear();
    this.lastFrame = null;
    this.timeline = [];
    this.startMs = startMs;
  }

  /** Counts one WebSocket frame; returns how many deliveries it held (0 = a control frame). */
  onFrame(buf: Buffer): number {
    if (this.first) return this.scanEach(buf);
    // A batch reaches every member of the room as the same bytes, one after the other: a frame
    // equal to the last one counted (memcmp, ~0.1 µs a KiB) has its count and send time.
    const last = this.lastFrame;
    if (last !== null && buf.length === last.length && buf.equals(last)) {
      this.tally(this.lastCount, this.lastSentMs);
      return this.lastCount;
    }
    const at = buf.indexOf(MARK);
    if (at === -1) return 0;
    let n = 1;
    let end = -1;
    for (let i = buf.indexOf(NEWLINE, at); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) {
      n++;
      end = i;
    }
    // A last line that is not a delivery (`skipped`, or the empty tail of a trailing newline).
    if (end !== -1 && buf.indexOf(MARK, end) === -1) n--;
    const sentMs = readNumber(buf, at + MARK.length);
    this.lastFrame = buf;
    this.lastCount = n;
    this.lastSentMs = sentMs;
    this.tally(n, sentMs);
    return n;
  }

  /** Counts whole SSE events (a chunk cut at a blank line); returns the deliveries among them. */
  onEvents(buf: Buffer): number {
    if (this.first) return this.scanEach(buf);
    const at = buf.indexOf(MARK);
    if (at === -1) return 0;
    let n = 1;
    for (let i = buf.indexOf(MARK, at + MIN_GAP); i !== -1; i = buf.indexOf(MARK, i + MIN_GAP)) {
      n++;
    }
    this.tally(n, readNumber(buf, at + MARK.length));
    return n;
  }

  /** Adds `n` deliveries whose oldest was sent at `sentMs` (NaN: unreadable, no latency). */
  private tally(n: number, sentMs: number): void {
    const now = nowMs();
    if (!Number.isNaN(sentMs)) this.latency.record((now - sentMs) * 1000, n);
    this.add(n, now);
  }

  private add(n: number, now: number): void {
    this.received += n;
    this.frames++;
    const sec = Math.floor((now - this.startMs) / 1000);
    if (sec >= 0 && sec < MAX_SECONDS) {
      while (this.timeline.length <= sec) this.timeline.push(0);
      this.timeline[sec] = (this.timeline[sec] ?? 0) + n;
    }
  }

  /**
   * The byte scan for `trackFirst`: every `"t":` and the `"s":` after it, so each message's
   * latency and first delivery are its own.
   */
  private scanEach(buf: Buffer): number {
    let n = 0;
    let now = 0;
    const end = buf.length - 3;
    // Looks for `"t":` (34 116 34 58), testing the rarest byte first.
    for (let i = 1; i < end; i++) {
      if (buf[i] !== 116 || buf[i + 2] !== 58 || buf[i - 1] !== 34 || buf[i + 1] !== 34) continue;
      if (n === 0) now = nowMs();
      const t = readNumber(buf, i + 3);
      let j = i + 3;
      while (j < buf.length && (buf[j] === 46 || (buf[j]! >= 48 && buf[j]! <= 57))) j++;
      if (!Number.isNaN(t)) {
        this.latency.record((now - t) * 1000);
        this.recordFirst(buf, j, (now - t) * 1000);
      }
      n++;
      i = j;
    }
    if (n > 0) this.add(n, now);
    return n;
  }

  /** The serializable state. */
  snapshot(): CounterSnapshot {
    return {
      received: this.received,
      frames: this.frames,
      latency: this.latency.toData(),
      timeline: this.timeline.slice(),
      first: this.first ? this.first.toData() : null,
    };
  }

  /** Records `us` once per sequence number: the data reads `"t":T,"s":S` (messageData). */
  private recordFirst(buf: Buffer, pos: number, us: number): void {
    // ,"s":  = 44 34 115 34 58
    if (buf[pos] !== 44 || buf[pos + 2] !== 115 || buf[pos + 4] !== 58) return;
    const seq = readNumber(buf, pos + 5);
    if (Number.isNaN(seq) || this.seen.has(seq)) return;
    if (this.seen.size >= MAX_FIRST) this.seen.clear();
    this.seen.add(seq);
    this.first!.record(us);
  }
}
