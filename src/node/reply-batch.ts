import { mergeLines } from '../protocol/index.js';
import type { Session } from '../session/index.js';

/**
 * Replies to one connection gathered while an event-loop step runs and sent together, as one
 * frame of several lines (docs/protocol.md: a frame holds one or more lines): one frame and one
 * `write(2)` where each would cost its own. A committed batch of the store releases the `ok` of
 * every comment in it at once, and a connection publishing several comments gets them in one
 * commit (commands.ts), so an ingest of thousands of comments a second writes a fraction of the
 * frames (issue 12: the write was a quarter of the server's CPU per comment).
 *
 * A connection's gathered lines go out at the end of the step (`process.nextTick`, which runs
 * once the promise reactions of the step have run: every `ok` a commit released is in by then),
 * or earlier, by `flush`, before anything else the commands send it, so replies keep their order.
 */
export class ReplyBatch {
  private readonly pending = new Map<Session, Buffer[]>();
  private scheduled = false;

  /** Gathers `line` for `session`. */
  add(session: Session, line: Buffer): void {
    const lines = this.pending.get(session);
    if (lines) {
      lines.push(line);
      return;
    }
    this.pending.set(session, [line]);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushAll);
    }
  }

  /** Whether lines wait for `session` (then its next reply joins them: `add`). */
  holds(session: Session): boolean {
    return this.pending.size > 0 && this.pending.has(session);
  }

  /** Sends what waits for `session` now. */
  flush(session: Session): void {
    if (this.pending.size === 0) return;
    const lines = this.pending.get(session);
    if (!lines) return;
    this.pending.delete(session);
    send(session, lines);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    for (const [session, lines] of this.pending) send(session, lines);
    this.pending.clear();
  };
}

function send(session: Session, lines: Buffer[]): void {
  session.send(mergeLines(lines), false, Date.now());
}
