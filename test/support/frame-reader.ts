import { connect, type Socket } from 'node:net';
import { clientFrame, upgradeRequest } from './raw.js';

/** One WebSocket frame as it arrived on the wire, header bits and all. */
export interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  /** How the length was encoded: 7, 16 or 64 bits (RFC 6455 section 5.2). */
  lengthBits: 7 | 16 | 64;
  payload: Buffer;
}

/**
 * A WebSocket client by hand that keeps every server frame exactly as sent (RSV1, mask bit,
 * length encoding), so tests can check the bytes the server wrote rather than what `ws` decoded.
 */
export class FrameReader {
  readonly frames: WireFrame[] = [];
  /** The upgrade response's head. */
  head = '';
  ended = false;
  private buf = Buffer.alloc(0);
  private wakers: (() => void)[] = [];

  private constructor(readonly socket: Socket) {}

  /** Opens a socket and upgrades it with extra request headers; resolves after the 101. */
  static open(port: number, headers: Record<string, string> = {}): Promise<FrameReader> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const reader = new FrameReader(socket);
      socket.once('error', reject);
      socket.on('end', () => {
        reader.ended = true;
        reader.wake();
      });
      socket.on('close', () => {
        reader.ended = true;
        reader.wake();
      });
      socket.on('data', (d: Buffer) => {
        reader.buf = Buffer.concat([reader.buf, d]);
        if (reader.head === '') {
          const end = reader.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          reader.head = reader.buf.subarray(0, end).toString('latin1');
          reader.buf = reader.buf.subarray(end + 4);
          if (!reader.head.startsWith('HTTP/1.1 101')) {
            reject(new Error(`upgrade refused: ${reader.head.split('\r\n')[0]}`));
            return;
          }
          resolve(reader);
        }
        reader.parse();
      });
      socket.write(upgradeRequest(headers));
    });
  }

  /** Sends a masked text frame. */
  sendText(text: string): void {
    this.socket.write(clientFrame(1, Buffer.from(text)));
  }

  /** Text frames' payloads as strings (compressed ones as they came). */
  texts(): string[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString());
  }

  /** Resolves once `check` holds (checked on every arrival); rejects after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.ended) throw new Error(`socket ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private parse(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      let lengthBits: 7 | 16 | 64 = 7;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
        lengthBits = 16;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
        lengthBits = 64;
      }
      if (masked) at += 4;
      if (b.length < at + len) break;
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        rsv1: (b[0]! & 0x40) !== 0,
        opcode: b[0]! & 0x0f,
        masked,
        lengthBits,
        payload: Buffer.from(b.subarray(at, at + len)),
      });
      this.buf = b.subarray(at + len);
    }
    this.wake();
  }
}
