import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Sends raw bytes to the server and resolves with everything it answers until it closes. */
export function rawExchange(
  port: number,
  request: string | Buffer,
  timeoutMs = 3000,
): Promise<string> {
  return rawExchangeOutcome(port, request, timeoutMs).then((o) => o.response);
}

/** What a raw exchange got: the bytes, and whether the server closed the socket (not our timer). */
export interface RawOutcome {
  response: string;
  closedByServer: boolean;
}

/**
 * Writes `request` on a fresh TCP connection and collects the answer until the server closes
 * the socket, or `timeoutMs` passes (then `closedByServer` is false: the server left it open).
 */
export function rawExchangeOutcome(
  port: number,
  request: string | Buffer,
  timeoutMs = 3000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ response: Buffer.concat(chunks).toString('latin1'), closedByServer });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
    socket.write(request);
  });
}

/**
 * Writes `request` on a fresh TCP connection and resolves with the answer's head (status line and
 * headers) as soon as it is complete: an accepted upgrade stays open, so waiting for the close
 * would only wait for a timer. What arrived so far when the socket closes or `timeoutMs` passes.
 */
export function rawHead(port: number, request: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const end = text.indexOf('\r\n\r\n');
      resolve(end === -1 ? text : text.slice(0, end + 4));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(request);
  });
}

/** The status line of `rawHead`'s answer ('' when nothing came). */
export async function rawStatusLine(
  port: number,
  request: string,
  timeoutMs = 10_000,
): Promise<string> {
  const head = await rawHead(port, request, timeoutMs);
  const end = head.indexOf('\r\n');
  return end === -1 ? head : head.slice(0, end);
}

/** An upgrade request's text with overridable headers (null removes one). */
export function upgradeRequest(
  overrides: Record<string, string | null> = {},
  path = '/ws',
  version = '1.1',
): string {
  const headers: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  const lines = Object.entries(headers)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/${version}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Opens a WebSocket by hand and then never reads from it: the kernel buffers fill and the
 * server's send queue for it grows. Resolves once the upgrade was answered.
 */
export function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('data', (d) => {
      if (!d.toString('latin1').startsWith('HTTP/1.1 101')) reject(new Error('upgrade refused'));
      socket.pause();
      resolve(socket);
    });
    socket.write(upgradeRequest());
  });
}

/** A masked client frame with the given opcode and payload (RFC 6455 section 5.2). */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/**
 * One keep-alive TCP connection to an HTTP server, for exchanges that must share it: `exchange`
 * writes a request and resolves with the whole answer (head and body, by `Content-Length` or
 * chunked) as the server wrote it. Answers to HEAD have no body: say so with `head`.
 */
export class KeepAliveConnection {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  /** Whether the server has closed the connection. */
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
    const onClose = () => {
      this.closed = true;
      this.waiting?.();
    };
    socket.on('close', onClose);
    socket.on('error', onClose);
  }

  /** Opens a connection to 127.0.0.1:`port`. */
  static open(port: number): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new KeepAliveConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `request` and resolves with its answer; rejects when the server closes first. */
  async exchange(request: string | Buffer, options: { head?: boolean } = {}): Promise<string> {
    this.socket.write(request);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const length = this.answerLength(options.head === true);
      if (length !== null) {
        const answer = this.buffer.subarray(0, length).toString('latin1');
        this.buffer = this.buffer.subarray(length);
        return answer;
      }
      if (this.closed) throw new Error(`closed before an answer: ${this.buffer.toString()}`);
      if (Date.now() > deadline) throw new Error('no answer in 10 s');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
  }

  /** Bytes of the first complete answer in the buffer, or null while it is incomplete. */
  private answerLength(head: boolean): number | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const headText = this.buffer.subarray(0, end).toString('latin1');
    if (head) return end + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(headText);
    if (length) {
      const total = end + 4 + Number(length[1]);
      return this.buffer.length >= total ? total : null;
    }
    if (/\r\ntransfer-encoding: *chunked/i.test(headText)) {
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', end);
      return last === -1 ? null : last + 7;
    }
    return end + 4;
  }

  /** Writes more bytes without waiting for an answer (the rest of a body, say). */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when the server has closed the connection; rejects after `timeoutMs`. */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
