/**
 * A raw Server-Sent Events reader over node:http, as `curl -N` would read a stream: it parses
 * events (event, data, id), comments and `retry:` as they come, and remembers the last event id
 * the way EventSource does (an `id:` field with no data still sets it).
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';

/** One dispatched event. */
export interface SseEvent {
  event: string;
  data: string;
  /** The data parsed as JSON (every Barrage event carries a JSON line). */
  json: Record<string, unknown> & { type: string };
}

export class SseReader {
  readonly events: SseEvent[] = [];
  comments = 0;
  lastEventId = '';
  retry: number | null = null;
  ended = false;
  private buffer = '';
  private field = { event: '', data: [] as string[], id: null as string | null };
  private waiters: (() => void)[] = [];

  private constructor(
    readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.feed(chunk));
    res.on('end', () => this.finish());
    res.on('close', () => this.finish());
    res.on('error', () => this.finish());
  }

  /** Opens a stream; resolves once the status line and headers are in. */
  static open(
    url: string,
    headers: Record<string, string> = {},
    /** Loopback source address (127.0.0.x) to connect from, for per-address caps. */
    localAddress?: string,
  ): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const options = { headers: { accept: 'text/event-stream', ...headers }, localAddress };
      const req = request(url, options, (res) => resolve(new SseReader(req, res)));
      req.on('error', reject);
      req.end();
    });
  }

  /** The answer's status. */
  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** Waits for the first event not yet seen after index `from` that matches `pred`. */
  async next(pred: (e: SseEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(pred);
      if (found) return found;
      if (this.ended) throw new Error(`stream ended; events: ${this.types().join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; events: ${this.types().join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Events of one type so far. */
  all(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  /** Waits until the server ends the stream. */
  async closed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Cuts the connection from the client side. */
  close(): void {
    this.req.destroy();
  }

  private types(): string[] {
    return this.events.map((e) => e.event);
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl !== -1) {
      this.line(this.buffer.slice(0, nl).replace(/\r$/, ''));
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf('\n');
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'event') this.field.event = value;
    else if (name === 'data') this.field.data.push(value);
    else if (name === 'id') this.field.id = value;
    else if (name === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  private dispatch(): void {
    const { event, data, id } = this.field;
    this.field = { event: '', data: [], id: null };
    if (id !== null) this.lastEventId = id;
    if (data.length === 0) return;
    const text = data.join('\n');
    this.events.push({
      event: event || 'message',
      data: text,
      json: JSON.parse(text) as SseEvent['json'],
    });
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
