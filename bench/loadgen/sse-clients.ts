/**
 * Receivers over Server-Sent Events, for the `barrage-sse` target: `GET /sse?rooms=…` (with
 * `token=` when the connection has one) from a loopback source address, joined once every room's
 * `event: joined` came. Deliveries are counted from whole events only: a chunk is scanned up to
 * its last blank line and the tail waits for the next chunk, so a `"t":` split by TCP is neither
 * missed nor misread.
 */
import { Agent, type ClientRequest, type IncomingMessage, request } from 'node:http';

/** Where and how to open one receiver. */
export interface SseOpen {
  /** Base URL of the node (ws:// or http://host:port). */
  url: string;
  rooms: string[];
  /** A JWT, sent as `token=`. */
  token?: string;
  /** Loopback source address, or undefined to let the kernel pick. */
  localAddress?: string;
  timeoutMs: number;
}

/** One open SSE receiver. */
export interface SseReceiver {
  /** Feeds whole events to `onEvents` from now on; `onClose` gets the server's close code. */
  attach(onEvents: (buf: Buffer) => void, onClose: (code: number) => void): void;
  close(): void;
  /** Bytes read off the stream's TCP socket so far (headers and framing included). */
  readonly bytesRead: number;
}

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const BLANK_LINE = Buffer.from('\n\n');
const JOINED = Buffer.from('event: joined\n');
const REFUSED = /event: (error|close)\ndata: ([^\n]*)/;

/** Opens one SSE receiver; rejects on a refusal (status, `error` or `close` event) or timeout. */
export function openSseReceiver(conn: SseOpen): Promise<SseReceiver> {
  const url = new URL(`${conn.url.replace(/^ws/, 'http')}/sse`);
  url.searchParams.set('rooms', conn.rooms.join(','));
  if (conn.token) url.searchParams.set('token', conn.token);
  return new Promise((resolve, reject) => {
    let req: ClientRequest | null = null;
    const timer = setTimeout(() => fail(new Error('timeout in join')), conn.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      req?.destroy();
      reject(err);
    };
    req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        agent,
        headers: { accept: 'text/event-stream' },
        ...(conn.localAddress ? { localAddress: conn.localAddress } : {}),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(new Error(`SSE ${res.statusCode}`));
          return;
        }
        let pendingJoins = Math.max(1, conn.rooms.length);
        const onJoin = (chunk: Buffer): void => {
          const refused = REFUSED.exec(chunk.toString('utf8'));
          if (refused) {
            fail(new Error(`SSE refused: ${refused[2]!.slice(0, 120)}`));
            return;
          }
          for (let i = chunk.indexOf(JOINED); i !== -1; i = chunk.indexOf(JOINED, i + 1)) {
            pendingJoins--;
          }
          if (pendingJoins > 0) return;
          clearTimeout(timer);
          res.off('data', onJoin);
          resolve(receiver(req!, res));
        };
        res.on('data', onJoin);
        res.on('error', (err) => fail(err));
        res.on('close', () => fail(new Error('SSE stream ended in join')));
      },
    );
    req.on('error', (err) => fail(err));
    req.end();
  });
}

function receiver(req: ClientRequest, res: IncomingMessage): SseReceiver {
  let closing = false;
  const socket = res.socket;
  return {
    get bytesRead() {
      return socket?.bytesRead ?? 0;
    },
    attach(onEvents, onClose) {
      let rest: Buffer | null = null;
      let code = 1006;
      res.on('data', (chunk: Buffer) => {
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        const end = buf.lastIndexOf(BLANK_LINE);
        if (end === -1) {
          rest = buf;
          return;
        }
        rest = end + 2 < buf.length ? Buffer.from(buf.subarray(end + 2)) : null;
        const whole = buf.subarray(0, end + 2);
        // The server says why it ends a stream in an `event: close` (rare: parse it whole).
        const close = /event: close\ndata: \{"type":"close","code":(\d+)/.exec(
          whole.toString('latin1', Math.max(0, whole.length - 300)),
        );
        if (close) code = Number(close[1]);
        onEvents(whole);
      });
      res.once('close', () => {
        if (!closing) onClose(code);
      });
    },
    close() {
      closing = true;
      req.destroy();
    },
  };
}
