import { BarrageError, isBarrageError, toError } from './errors.js';
import { safeSend } from './socket.js';
import type { RequestId, ServerFrame, WebSocketLike } from './types.js';

const utf8 = new TextEncoder();

/** Most times one request is sent again after `rate_limited` with `retryAfterMs`. */
const MAX_RATE_LIMITED_RETRIES = 20;
/** Most times an idempotent request is sent again after its connection dropped. */
const MAX_RESENDS = 5;

interface Pending {
  resolve: (frame: ServerFrame) => void;
  onReply: ((frame: ServerFrame) => void) | undefined;
  reject: (err: BarrageError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests waiting for their reply, by id. Replies match requests by the `id` they carry. */
export class RequestTable {
  /** The largest frame the server reads, bytes (from `welcome`); 0: not known, not checked. */
  maxFrameBytes = 0;
  private readonly pending = new Map<RequestId, Pending>();
  private nextId = 1;

  /**
   * Sends `body` with a fresh id on `ws`; resolves with the reply frame, rejects with the
   * server's error, `timeout` at `deadline` (ms since the epoch) or `disconnected`.
   * `onReply` runs synchronously when a successful reply is read, before the lines after it in
   * the same frame (or the frames after it in the same socket read) are handled: promise
   * callbacks would run too late to apply a `joined` before the live messages that follow it.
   */
  send(
    ws: WebSocketLike,
    body: Record<string, unknown>,
    deadline: number,
    onReply?: (frame: ServerFrame) => void,
  ): Promise<ServerFrame> {
    const id = this.nextId++;
    const text = JSON.stringify({ ...body, id });
    const over = this.oversize(text);
    if (over > 0) {
      const what = String(body.type);
      const message = `${what} is ${over} bytes; the server reads frames up to ${this.maxFrameBytes} bytes`;
      return Promise.reject(new BarrageError('too_large', message));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          reject(new BarrageError('timeout', `no reply to ${String(body.type)} in time`));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.pending.set(id, { resolve, reject, timer, onReply });
      if (!safeSend(ws, text)) {
        this.take(id)?.reject(new BarrageError('disconnected', 'not connected'));
      }
    });
  }

  /** Settles the request `id` with a reply frame; false when no such request waits. */
  settle(id: RequestId, frame: ServerFrame): boolean {
    const p = this.take(id);
    if (!p) return false;
    if (frame.type === 'error') {
      p.reject(toError(frame));
      return true;
    }
    try {
      p.onReply?.(frame);
    } catch (err) {
      p.reject(err as BarrageError);
      return true;
    }
    p.resolve(frame);
    return true;
  }

  /** Fails every waiting request with `err`. */
  failAll(err: BarrageError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /**
   * The frame's size in bytes when it is over `maxFrameBytes`, else 0. A server closes the whole
   * connection (1009) on such a frame, so it is refused here instead.
   */
  private oversize(text: string): number {
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count only when the answer is not plain.
    if (this.maxFrameBytes <= 0 || text.length * 3 <= this.maxFrameBytes) return 0;
    const bytes = utf8.encode(text).length;
    return bytes > this.maxFrameBytes ? bytes : 0;
  }

  private take(id: RequestId): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }
}

/** The connection a retried request waits for (its client). */
export interface RequestLink {
  /** Resolves once connected, within `ms`; rejects when closed or not in time. */
  ready(ms: number): Promise<void>;
  /** The connected socket (read right after `ready` resolved). */
  socket(): WebSocketLike;
}

/** How {@link sendWithRetries} sends one request. */
export interface RetryOptions {
  /** Safe to apply twice: sent again after a dropped connection. */
  idempotent: boolean;
  /** Gives up with `timeout` at this time, ms since the epoch. */
  deadline: number;
  /** As in {@link RequestTable.send}. */
  onReply?: ((frame: ServerFrame) => void) | undefined;
}

/**
 * Sends a request once connected and resolves with its reply. A `rate_limited` refusal with
 * `retryAfterMs` was not applied, so it is sent again after that wait (up to 20 times); an
 * idempotent request is sent again on the next connection when its connection dropped (up to 5
 * times). Anything else, or the deadline, rejects.
 */
export async function sendWithRetries(
  table: RequestTable,
  link: RequestLink,
  body: Record<string, unknown>,
  { idempotent, deadline, onReply }: RetryOptions,
): Promise<ServerFrame> {
  let drops = 0;
  let limited = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new BarrageError('timeout', `no reply to ${String(body.type)} in time`);
    await link.ready(left);
    try {
      return await table.send(link.socket(), body, deadline, onReply);
    } catch (err) {
      if (!isBarrageError(err)) throw err;
      const wait = err.code === 'rate_limited' ? err.retryAfterMs : undefined;
      if (wait !== undefined) {
        // Refused, so not applied: sent again once the server says the limit allows it.
        if (++limited > MAX_RATE_LIMITED_RETRIES || Date.now() + wait >= deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.max(wait, 1)));
        continue;
      }
      if (!idempotent || ++drops > MAX_RESENDS || err.code !== 'disconnected') throw err;
    }
  }
}
