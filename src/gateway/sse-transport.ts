import type { ServerResponse } from 'node:http';
import { closeReconnects } from '../protocol/index.js';
import type { Transport } from '../session/index.js';
import { SSE_HEARTBEAT, sseFrame } from './sse-encoding.js';
import { encodePositions, type RoomPosition } from './sse-position.js';

/**
 * An SSE response as a session's Transport. Frames become events (shared per batch, see
 * sseFrame); after a frame that moves the stream in a room, an `id:` block carries the stream's
 * positions so that EventSource's `Last-Event-ID` recovers every room. Liveness: SSE clients never
 * write, so a protocol ping is a comment whose flush to the kernel counts as a sign of life (a
 * peer that stopped reading stops the flushes, and the send marks and the heartbeat cut it).
 */
export class SseTransport implements Transport {
  private readonly positions = new Map<string, RoomPosition>();
  private ended = false;
  /** Called when a heartbeat comment was flushed to the peer's socket. */
  onFlushed: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    private readonly closeGraceMs: number,
    /** The `retry:` hint given with a close that asks the client to come back, ms. */
    private readonly retryMs: number,
  ) {}

  send(frame: Buffer): boolean {
    if (this.ended || this.res.destroyed) return false;
    const sse = sseFrame(frame);
    let moved = false;
    for (const j of sse.joined) {
      this.positions.set(j.room, { epoch: j.epoch, offset: j.offset });
      moved = true;
    }
    for (const [room, offset] of sse.offsets) {
      const p = this.positions.get(room);
      if (p !== undefined && offset > p.offset) {
        p.offset = offset;
        moved = true;
      }
    }
    if (!moved) {
      this.res.write(sse.body);
      return true;
    }
    // One writev for the shared events and this stream's own id block.
    this.res.cork();
    this.res.write(sse.body);
    this.res.write(`id: ${encodePositions(this.positions)}\n\n`);
    this.res.uncork();
    return true;
  }

  /** Forgets a room the stream left, so its position no longer rides in the id. */
  forget(room: string): void {
    this.positions.delete(room);
  }

  get bufferedAmount(): number {
    return this.res.writableLength;
  }

  ping(): void {
    if (this.ended || this.res.destroyed) return;
    this.res.write(SSE_HEARTBEAT, (err) => {
      if (!err) this.onFlushed();
    });
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.res.destroyed) return;
    // A close the client should come back from tells EventSource when (`retry:`).
    const retry = closeReconnects(code) ? retryOf(reason, this.retryMs) : null;
    const line = JSON.stringify({ type: 'close', code, reason });
    this.res.end(`${retry === null ? '' : `retry: ${retry}\n`}event: close\ndata: ${line}\n\n`);
    const res = this.res;
    setTimeout(() => res.destroy(), this.closeGraceMs).unref();
  }

  terminate(): void {
    this.ended = true;
    this.res.destroy();
  }
}

/** The back-off a close reason advertises (`retryAfterMs=N`), or the default. */
function retryOf(reason: string, fallback: number): number {
  const m = /retryAfterMs=(\d+)/.exec(reason);
  return m ? Number(m[1]) : fallback;
}
