/**
 * A TCP proxy the test controls, to put between a node and Redis (or anything) and break the
 * network in the ways real networks break:
 *
 * - `cut()`: reset every open connection (new ones are still accepted);
 * - `refuse(true)`: accept and at once destroy new connections (the peer is down);
 * - `blackHole()`: stop forwarding in both directions but keep the sockets open, as a network
 *   partition does; `heal()` lets the held bytes through intact, as TCP would after one;
 * - `delay(ms)`: forward every chunk `ms` later (order kept);
 * - `closeAfter(n)`: destroy each connection after it forwarded `n` more bytes (both directions
 *   together), e.g. mid-reply;
 * - `heal()`: back to plain forwarding.
 *
 * Loopback only; every socket is tracked and destroyed on `close()`.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes forwarded since the last `closeAfter`. */
  forwarded: number;
  /** Chunks held while black-holed, per direction. */
  heldUp: Buffer[];
  heldDown: Buffer[];
  /** When the last delayed chunk of each direction goes out (keeps order when delay changes). */
  dueUp: number;
  dueDown: number;
}

/** A controllable TCP proxy to 127.0.0.1:`targetPort`. */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private refusing = false;
  private holding = false;
  private delayMs = 0;
  private closeAfterBytes: number | null = null;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
  ) {}

  /** Starts a proxy on a free loopback port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => proxy?.accept(client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    proxy = new TcpProxy(server, port, targetPort);
    return proxy;
  }

  /** `redis://127.0.0.1:PORT` of the proxy. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Resets every open connection. */
  cut(): void {
    for (const pair of [...this.pairs]) this.drop(pair);
  }

  /** While on, new connections are destroyed at once. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Holds every byte in both directions, sockets open. */
  blackHole(): void {
    this.holding = true;
  }

  /** Forwards every chunk `ms` later. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Destroys each connection once it forwarded `bytes` more bytes. */
  closeAfter(bytes: number): void {
    this.closeAfterBytes = bytes;
    for (const pair of this.pairs) pair.forwarded = 0;
  }

  /** Back to plain forwarding; bytes held by a black hole go through, in order. */
  heal(): void {
    this.refusing = false;
    this.delayMs = 0;
    this.closeAfterBytes = null;
    this.holding = false;
    for (const pair of this.pairs) {
      for (const chunk of pair.heldUp.splice(0)) pair.upstream.write(chunk);
      for (const chunk of pair.heldDown.splice(0)) pair.client.write(chunk);
    }
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(this.targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: Pair = {
      client,
      upstream,
      forwarded: 0,
      heldUp: [],
      heldDown: [],
      dueUp: 0,
      dueDown: 0,
    };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => this.forward(pair, chunk, true));
    upstream.on('data', (chunk: Buffer) => this.forward(pair, chunk, false));
    client.on('close', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
  }

  private forward(pair: Pair, chunk: Buffer, up: boolean): void {
    if (!this.pairs.has(pair)) return;
    if (this.holding) {
      (up ? pair.heldUp : pair.heldDown).push(chunk);
      return;
    }
    let data = chunk;
    let last = false;
    if (this.closeAfterBytes !== null) {
      const room = this.closeAfterBytes - pair.forwarded;
      if (room <= data.length) {
        data = data.subarray(0, Math.max(0, room));
        last = true;
      }
      pair.forwarded += data.length;
    }
    const to = up ? pair.upstream : pair.client;
    const send = () => {
      if (!this.pairs.has(pair)) return;
      if (data.length > 0) to.write(data);
      if (last) setImmediate(() => this.drop(pair));
    };
    const now = Date.now();
    const due = Math.max(now + this.delayMs, up ? pair.dueUp : pair.dueDown);
    if (up) pair.dueUp = due;
    else pair.dueDown = due;
    if (due > now) setTimeout(send, due - now);
    else send();
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
