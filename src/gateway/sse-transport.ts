import type { ServerResponse } from 'node:http';
import { closeReconnects } from '../protocol/index.js';
import type { Transport } from '../session/index.js';
import { type SseFrame, sseFrame } from './sse-encoding.js';
import { encodePositions, type RoomPosition } from './sse-position.js';

/**
 * An SSE response as a session's Transport. Frames become events (shared per batch, see
 * sseFrame); the last event of a frame that moves the stream in a room carries an `id:` with
 * the stream's positions so that EventSource's `Last-Event-ID` recovers every room. Liveness:
 * SSE clients never write, so a protocol ping is a comment whose flush to the kernel counts as a sign of life (a
 * peer that stopped reading stops the flushes, and the send marks and the heartbeat cut it).
 */
export class SseTransport implements Transport {
  private readonly positions = new Map<string, RoomPosition>();
  private ended = false;
  /** The stream's joins not answered yet, and whether one of them succeeded. */
  private joinsPending: number;
  private joinedAny = false;
  private retryAfterMs: number | null = null;
  /** Called when a heartbeat comment was flushed to the peer's socket. */
  onFlushed: () => void = () => {};
  /**
   * Called once when every join of the stream was refused and one refusal passes with time
   * (rate_limited): a one-way stream with no room is of no use, so the gateway closes it with a
   * back-off instead of holding it open (EventSource would wait on it forever).
   */
  onRefusedAll: (retryAfterMs: number) => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    private readonly closeGraceMs: number,
    /** The `retry:` hint given with a close that asks the client to come back, ms. */
    private readonly retryMs: number,
    /** How many rooms the stream joins (its replies carry ids `sse-0` … `sse-N-1`). */
    joins: number,
    /** The heartbeat comment (shared by every stream, see sseHeartbeat). */
    private readonly heartbeat: Buffer,
  ) {
    this.joinsPending = joins;
  }

  send(frame: Buffer): boolean {
    if (this.ended || this.res.destroyed) return false;
    const sse = sseFrame(frame);
    let moved = false;
    for (const j of sse.joined) {
      this.positions.set(j.room, { epoch: j.epoch, offset: j.offset });
      moved = true;
    }
    if (this.joinsPending > 0) this.noteJoinReplies(sse.joined.length, sse.refusals);
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
    // One writev for the shared events and this stream's own id. The id goes into the frame's
    // last event (its final blank line comes after the id), so that event's `lastEventId` in a
    // browser is the position after it, not before; the body itself stays shared, unchanged.
    this.res.cork();
    this.res.write(sse.body.subarray(0, sse.body.length - 1));
    this.res.write(`id: ${encodePositions(this.positions)}\n\n`);
    this.res.uncork();
    return true;
  }

  private noteJoinReplies(joined: number, refusals: SseFrame['refusals']): void {
    this.joinsPending -= joined + refusals.length;
    if (joined > 0) this.joinedAny = true;
    for (const r of refusals) {
      if (r.retryAfterMs !== null)
        this.retryAfterMs = Math.max(this.retryAfterMs ?? 0, r.retryAfterMs);
    }
    if (this.joinsPending <= 0 && !this.joinedAny && this.retryAfterMs !== null) {
      const wait = this.retryAfterMs;
      // After this send returns: the session is still answering its joins.
      queueMicrotask(() => this.onRefusedAll(wait));
    }
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
    this.res.write(this.heartbeat, (err) => {
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
