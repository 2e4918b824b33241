import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Writing a WebSocket's outgoing frames to its TCP socket, straight to the file descriptor while
 * nothing is queued in the stream.
 *
 * A fan-out writes the same frame to thousands of sockets, one `write(2)` each. Through
 * `socket.write` each of those also pays net's stream machinery: a WriteWrap object, the writable
 * state's bookkeeping and a `process.nextTick` per socket to finish the write (about a third of
 * the user CPU of a delivery, measured: docs/performance.md). When the stream holds nothing
 * (`writableLength` 0: no earlier write of ours or ws's is still waiting in it or in libuv), a
 * synchronous `write(2)` to the descriptor puts the bytes in the kernel in call order, as libuv's
 * own first attempt (`uv_try_write`) would. Whatever the kernel did not take (a full send buffer:
 * a short count, or EAGAIN) goes through `socket.write`, so it is queued, ordered before any later
 * write, counted in `writableLength` (ws's `bufferedAmount`: the session's soft/hard marks and
 * stall check) and written by libuv when the socket drains. Any other error also goes the
 * stream's way, which reports it as it always did.
 *
 * Only a plain TCP `net.Socket` qualifies (not TLS, whose bytes must pass through its handle);
 * for anything else `directHandle` is null and every write takes `socket.write`. The transport
 * keeps the handle and descriptor in its own fields (no object of their own: one pointer less to
 * follow per member of a fan-out).
 */

/** The part of a net.Socket's libuv handle used here (net's `_handle`, not in @types/node). */
export interface TcpHandle {
  readonly fd: number;
}

/** The handle whose descriptor may be written directly, or null when only the stream may be. */
export function directHandle(socket: Duplex): TcpHandle | null {
  if (!(socket instanceof Socket) || 'encrypted' in socket) return null;
  const handle = handleOf(socket);
  return handle !== null && handle.fd >= 0 ? handle : null;
}

/**
 * Writes `bytes` to `socket` (directly to `fd` when allowed and nothing is queued). The bytes are
 * not copied: the caller must not change them afterwards.
 */
export function writeToSocket(
  socket: Duplex,
  handle: TcpHandle | null,
  fd: number,
  bytes: Buffer,
): void {
  // The handle is still the socket's (net drops it when the socket is destroyed, before libuv
  // closes the descriptor, whose number may then be reused), the stream is not ending, and it
  // holds nothing.
  if (
    handle !== null &&
    handleOf(socket as Socket) === handle &&
    socket.writableLength === 0 &&
    socket.writable
  ) {
    const done = writeDirect(fd, bytes);
    if (done === bytes.length) return;
    if (done > 0) bytes = bytes.subarray(done);
  }
  socket.write(bytes);
}

function handleOf(socket: Socket): TcpHandle | null {
  return (socket as unknown as { _handle: TcpHandle | null })._handle ?? null;
}

/** Bytes the kernel took now; 0 when it took none or refused (the stream path sorts it out). */
function writeDirect(fd: number, bytes: Buffer): number {
  try {
    return writeSync(fd, bytes);
  } catch {
    return 0;
  }
}
