/**
 * Counts deliveries on the hot path without parsing JSON: every delivered message carries
 * `"t":<send time in ms>` in its data, so a frame is scanned for that key with Buffer.indexOf and
 * the number after it is read digit by digit. One clock read per frame, not per message.
 */
import { performance } from 'node:perf_hooks';
import { Histogram, type HistogramData } from '../stats/histogram.js';

const T_KEY = Buffer.from('"t":');
const MAX_SECONDS = 3600;

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
  /** Deliveries (lines carrying a send timestamp). */
  received: number;
  /** WebSocket frames that carried at least one delivery. */
  frames: number;
  /** Latency in microseconds. */
  latency: HistogramData;
  /** Deliveries per second since the reset, index 0 = first second. */
  timeline: number[];
}

/** Accumulates deliveries, frames, latency and a per-second timeline. */
export class DeliveryCounter {
  received = 0;
  frames = 0;
  readonly latency = new Histogram();
  private timeline: number[] = [];
  private startMs = nowMs();

  /** Starts a new measurement at `startMs` (a shared clock value, so timelines line up). */
  reset(startMs: number): void {
    this.received = 0;
    this.frames = 0;
    this.latency.reset();
    this.timeline = [];
    this.startMs = startMs;
  }

  /** Scans one frame; returns how many deliveries it held (0 = a control frame). */
  onFrame(buf: Buffer): number {
    let i = buf.indexOf(T_KEY);
    if (i < 0) return 0;
    const now = nowMs();
    let n = 0;
    while (i >= 0) {
      const t = readNumber(buf, i + 4);
      if (!Number.isNaN(t)) this.latency.record((now - t) * 1000);
      n++;
      i = buf.indexOf(T_KEY, i + 4);
    }
    this.received += n;
    this.frames++;
    const sec = Math.floor((now - this.startMs) / 1000);
    if (sec >= 0 && sec < MAX_SECONDS) {
      while (this.timeline.length <= sec) this.timeline.push(0);
      this.timeline[sec] = (this.timeline[sec] ?? 0) + n;
    }
    return n;
  }

  /** The serializable state. */
  snapshot(): CounterSnapshot {
    return {
      received: this.received,
      frames: this.frames,
      latency: this.latency.toData(),
      timeline: this.timeline.slice(),
    };
  }
}
