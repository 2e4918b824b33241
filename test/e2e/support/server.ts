/**
 * Test support shared by the SDK tests (client/*.test.ts) and the browser tests: a real Barrage
 * server on a loopback port, a real TCP proxy that can cut or freeze connections, and a bounded
 * wait. Nothing here is mocked.
 */
import {
  createServer as createTcpServer,
  connect as netConnect,
  type Server,
  type Socket,
} from 'node:net';
import {
  type BarrageServer,
  type CreateServerOptions,
  createServer,
} from '../../../src/server/index.js';

/** Starts a Barrage server on 127.0.0.1 (port 0 unless given), logging nothing. */
export async function startServer(options: CreateServerOptions = {}): Promise<BarrageServer> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    store: 'none',
    ...options,
  });
  await server.listen();
  return server;
}

/** The WebSocket URL of a server (or of a port on 127.0.0.1). */
export function wsUrl(target: BarrageServer | number): string {
  const port = typeof target === 'number' ? target : target.port;
  return `ws://127.0.0.1:${port}/ws`;
}

/** A port that was free a moment ago (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Polls `check` every 20 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a port. `cut()` drops every connection (the client sees an
 * abnormal close, the server keeps running and keeps history); `freeze()` silently stops
 * forwarding (a dead server, as far as the client can tell).
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private frozen = false;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  /** Starts a proxy to `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createTcpServer((client) => proxy?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Destroys every connection now. */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Stops forwarding bytes on current connections without closing them; new ones are cut. */
  freeze(): void {
    this.frozen = true;
  }

  /** Forwards again (new connections only; frozen ones stay frozen until cut). */
  thaw(): void {
    this.frozen = false;
  }

  /** Cuts everything and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.frozen) {
      client.destroy();
      return;
    }
    const upstream = netConnect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!this.frozen) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
