/**
 * A reverse proxy that buffers responses, as many do by default (nginx `proxy_buffering on`,
 * some corporate and antivirus proxies): it holds an upstream answer, status line included,
 * until `bufferBytes` of its body have come or it ends, then passes what it holds at once.
 * With `honourAccelBuffering` it streams answers that say `X-Accel-Buffering: no`, as nginx
 * does; without, it buffers whatever the headers say. It does not carry WebSocket: an upgrade
 * is answered 403, as by a proxy that strips `Upgrade`. node:http, loopback only.
 */
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';

/** What the proxy did with one answer. */
interface Exchange {
  /** Body bytes received from upstream. */
  upstreamBytes: number;
  /** Upstream body text so far (bounded: the first 64 KiB), to see what the server sent. */
  upstreamText: string;
  /** Body bytes handed to the client. */
  clientBytes: number;
  /** Times the held body was passed on. */
  flushes: number;
  /** Bytes passed on by the first flush (0 until then). */
  firstFlushBytes: number;
}

export class BufferingProxy {
  readonly exchanges: Exchange[] = [];
  /** One entry per WebSocket upgrade refused. */
  readonly upgradesRefused: number[] = [];
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts a proxy to `http://127.0.0.1:targetPort` on a free loopback port. */
  static async start(
    targetPort: number,
    options: { bufferBytes: number; honourAccelBuffering: boolean },
  ): Promise<BufferingProxy> {
    let proxy: BufferingProxy | null = null;
    const server = createServer((req, res) => proxy?.forward(req, res, targetPort, options));
    server.on('upgrade', (_req, socket) => {
      proxy?.upgradesRefused.push(1);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    proxy = new BufferingProxy(server, port);
    return proxy;
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and cuts every answer still open. */
  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    targetPort: number,
    options: { bufferBytes: number; honourAccelBuffering: boolean },
  ): void {
    const exchange: Exchange = {
      upstreamBytes: 0,
      upstreamText: '',
      clientBytes: 0,
      flushes: 0,
      firstFlushBytes: 0,
    };
    this.exchanges.push(exchange);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    const upstream = request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        const streaming =
          options.honourAccelBuffering && answer.headers['x-accel-buffering'] === 'no';
        let held: Buffer[] = [];
        let heldBytes = 0;
        let headSent = false;
        const pass = (): void => {
          if (!headSent) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.flushHeaders();
            headSent = true;
          }
          if (heldBytes === 0) return;
          res.write(Buffer.concat(held));
          exchange.clientBytes += heldBytes;
          if (exchange.flushes++ === 0) exchange.firstFlushBytes = heldBytes;
          held = [];
          heldBytes = 0;
        };
        if (streaming) pass();
        answer.on('data', (chunk: Buffer) => {
          exchange.upstreamBytes += chunk.length;
          if (exchange.upstreamText.length < 65_536) exchange.upstreamText += chunk.toString();
          held.push(chunk);
          heldBytes += chunk.length;
          if (streaming || heldBytes >= options.bufferBytes) pass();
        });
        answer.on('end', () => {
          pass();
          res.end();
        });
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
