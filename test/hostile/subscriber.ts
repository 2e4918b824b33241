/**
 * A room subscriber that keeps a log of what it got and checks the delivery promise as it goes:
 * per connection, offsets arrive strictly in order and without holes (a hole on a live
 * connection is a silent gap); after any close it reconnects (to the next URL in turn) and
 * rejoins with `since`, and what it recovers must fill exactly what it missed, or the server must
 * say `recovered: false` (a counted, not a silent, loss).
 */
import WebSocket from 'ws';

/** One received room message. */
export interface Received {
  offset: number;
  epoch: string;
  data: unknown;
  /** `live` or `recovered` (from a `joined` reply). */
  how: 'live' | 'recovered';
}

/** A self-healing room subscriber with a checked log. */
export class Subscriber {
  readonly log: Received[] = [];
  /** Live offset holes: `[after, got]` (must stay empty). */
  readonly gaps: [number, number][] = [];
  /** Messages at or below the last offset seen (must stay 0). */
  duplicates = 0;
  /** Closes by code. */
  readonly closes: Record<number, number> = {};
  /** Rejoins answered `recovered: false`, and how many offsets they skipped (same epoch). */
  unrecovered = 0;
  skipped = 0;
  /** Epoch changes seen (the room's history was lost). */
  epochChanges = 0;
  joins = 0;
  private epoch = '';
  private last = 0;
  private ws: WebSocket | null = null;
  private stopped = false;
  private turn = 0;
  private joinedOnce: Promise<void>;
  private resolveJoined: () => void = () => {};

  constructor(
    private readonly urls: () => string[],
    readonly room: string,
    /** Extra join fields (e.g. `history`). */
    private readonly options: { reconnectDelayMs?: number } = {},
  ) {
    this.joinedOnce = new Promise((resolve) => {
      this.resolveJoined = resolve;
    });
  }

  /** Connects and joins; resolves once the first join was answered. */
  async start(): Promise<void> {
    this.connect();
    await Promise.race([
      this.joinedOnce,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${this.room}: no joined in 10 s`)), 10_000),
      ),
    ]);
  }

  /** The last offset received. */
  get lastOffset(): number {
    return this.last;
  }

  /** Closes the current connection (the subscriber reconnects with `since`). */
  bounce(): void {
    this.ws?.close(4000, 'bounce');
  }

  /** Stops for good. */
  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }

  /** Offsets received in the current epoch, in order. */
  offsets(): number[] {
    return this.log.filter((r) => r.epoch === this.epoch).map((r) => r.offset);
  }

  private connect(): void {
    if (this.stopped) return;
    const urls = this.urls();
    const url = urls[this.turn++ % urls.length]!;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws = ws;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      for (const line of String(data).split('\n')) if (line) this.onLine(JSON.parse(line));
    });
    ws.on('close', (code) => {
      this.closes[code] = (this.closes[code] ?? 0) + 1;
      if (this.ws === ws) this.ws = null;
      if (!this.stopped)
        setTimeout(() => this.connect(), this.options.reconnectDelayMs ?? 50).unref();
    });
  }

  private onLine(m: Record<string, unknown>): void {
    switch (m.type) {
      case 'welcome': {
        const join: Record<string, unknown> = { type: 'join', room: this.room, id: 'j' };
        if (this.epoch) join.since = { offset: this.last, epoch: this.epoch };
        this.ws?.send(JSON.stringify(join));
        break;
      }
      case 'ping':
        this.ws?.send('{"type":"pong"}');
        break;
      case 'joined':
        this.onJoined(m);
        break;
      case 'message':
        if (m.room === this.room) this.take(m, 'live');
        break;
      case 'error':
        // A join refused (e.g. `unavailable` while the broker is away): try again shortly.
        if (m.id === 'j') setTimeout(() => this.ws?.close(4000, 'retry'), 200).unref();
        break;
      default:
        break;
    }
  }

  private onJoined(m: Record<string, unknown>): void {
    this.joins++;
    const epoch = String(m.epoch);
    const offset = Number(m.offset);
    const hadPosition = this.epoch !== '';
    if (hadPosition && epoch !== this.epoch) {
      this.epochChanges++;
      this.unrecovered++;
    } else if (hadPosition && m.recovered !== true) {
      this.unrecovered++;
      this.skipped += Math.max(0, offset - this.last);
    }
    if (!hadPosition || epoch !== this.epoch || m.recovered !== true) {
      this.epoch = epoch;
      this.last = offset;
    } else {
      for (const line of (m.messages ?? []) as Record<string, unknown>[]) {
        this.take(line, 'recovered');
      }
      // The reply covers everything up to its offset.
      if (this.last < offset) {
        this.gaps.push([this.last, offset]);
        this.last = offset;
      }
    }
    this.resolveJoined();
  }

  private take(m: Record<string, unknown>, how: 'live' | 'recovered'): void {
    const offset = Number(m.offset);
    if (offset <= this.last) {
      this.duplicates++;
      return;
    }
    if (offset !== this.last + 1) this.gaps.push([this.last, offset]);
    this.last = offset;
    this.log.push({ offset, epoch: this.epoch, data: m.data, how });
  }
}
