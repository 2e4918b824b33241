import WebSocket from 'ws';

/** A parsed server message. */
export type Msg = Record<string, unknown> & { type: string };

/**
 * A raw protocol client over a real WebSocket for tests: records every frame and every line,
 * and waits for lines matching a predicate.
 */
export class TestClient {
  readonly frames: string[] = [];
  readonly lines: Msg[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  private readonly consumed: boolean[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.frames.push(text);
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const msg = JSON.parse(line) as Msg;
        this.lines.push(msg);
        if (msg.type === 'ping') ws.send('{"type":"pong"}');
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
    });
    ws.on('error', () => {});
  }

  /** Connects and waits for `welcome`. */
  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    await client.next((m) => m.type === 'welcome');
    return client;
  }

  /** Sends an object (or raw text) as one frame. */
  send(message: object | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends a request with a fresh id and waits for the reply carrying it. */
  async request(message: Record<string, unknown>, timeoutMs = 5000): Promise<Msg> {
    const id = this.nextId++;
    this.send({ ...message, id });
    return this.next((m) => m.id === id, timeoutMs);
  }

  /** Waits for the oldest line not yet taken by `next` that matches `pred`, and takes it. */
  next(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const found = this.take(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { pred, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        if (!this.waiters.includes(waiter)) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms; last lines: ${JSON.stringify(this.lines.slice(-5))}`,
          ),
        );
      }, timeoutMs);
    });
  }

  /** All lines of a type received so far. */
  all(type: string): Msg[] {
    return this.lines.filter((m) => m.type === type);
  }

  /** Waits for the socket to close; returns the close code. */
  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    if (this.closeCode === null) throw new Error('socket did not close');
    return this.closeCode;
  }

  /** Closes the socket. */
  close(): void {
    this.ws.close();
  }

  private take(pred: (m: Msg) => boolean): Msg | null {
    for (let i = 0; i < this.lines.length; i++) {
      if (this.consumed[i]) continue;
      const m = this.lines[i]!;
      if (pred(m)) {
        this.consumed[i] = true;
        return m;
      }
    }
    return null;
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      const m = this.take(w.pred);
      if (!m) continue;
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(m);
    }
  }
}
