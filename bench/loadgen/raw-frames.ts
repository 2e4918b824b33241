/**
 * A lean reader of a WebSocket client's incoming frames, for the receivers once they have joined.
 *
 * A 5000-member hot room makes the load generator read 5000 frames per server batch. Through `ws`
 * each frame passes its Receiver (a Writable stream: write, buffer list, state loop, message
 * event), ~a third of the receiver process's CPU in a profile of `bench hot-room`. When the
 * generator's core is full, the receivers read a batch's frames later than the server wrote them
 * and that lag lands in the measured latency. This reader parses the frames straight from the
 * socket's chunks: server frames are unmasked; only what the bench needs is handled (text or
 * binary payloads, fragments, close, ping), and anything unusual (compression, a reserved bit)
 * closes the connection so it shows as a close code, never as a silent miscount. Writing (joins,
 * pongs, acks) still goes through `ws`, whose sender is untouched.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/** What the reader reports. */
export interface RawHandlers {
  /** A whole text or binary message. */
  message(payload: Buffer): void;
  /** The server's close frame (1005 without a code), or an unreadable frame (1002). */
  close(code: number): void;
}

/**
 * Takes over reading `socket` (the TCP socket under `ws`) when `ws` has no partial frame
 * buffered; returns false (nothing changed) otherwise, or when the connection negotiated an
 * extension (the frames may be compressed).
 */
export function readFramesRaw(ws: WebSocket, socket: Socket, on: RawHandlers): boolean {
  const internals = ws as unknown as { _receiver?: { _bufferedBytes?: number } };
  if (ws.extensions !== '' || internals._receiver?._bufferedBytes !== 0) return false;
  // ws's own 'data' listener feeds its Receiver; its 'end' and 'close' listeners stay, so
  // `ws.readyState` and its 'close' event still follow the socket.
  socket.removeAllListeners('data');
  let pending: Buffer | null = null;
  let fragments: Buffer[] = [];
  let done = false;
  const fail = (code: number): void => {
    done = true;
    on.close(code);
    ws.terminate();
  };
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let at = 0;
    while (!done) {
      const left = buf.length - at;
      if (left < 2) break;
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (left < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (left < 10) break;
        len = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
        head = 10;
      }
      if ((b1 & 0x80) !== 0 || (b0 & 0x70) !== 0) return fail(1002);
      if (left < head + len) break;
      const payload = buf.subarray(at + head, at + head + len);
      at += head + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x8) return fail(len >= 2 ? payload.readUInt16BE(0) : 1005);
      if (opcode === 0x9) ws.pong(payload);
      else if (opcode === 0xa) continue;
      else if (opcode <= 0x2) {
        if (fin && fragments.length === 0) on.message(payload);
        else {
          fragments.push(payload);
          if (fin) {
            const whole = Buffer.concat(fragments);
            fragments = [];
            on.message(whole);
          }
        }
      } else return fail(1002);
    }
    if (at < buf.length) pending = buf.subarray(at);
  });
  return true;
}
