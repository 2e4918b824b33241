/**
 * What a session needs from its socket. The gateway wraps a `ws` WebSocket in this, so the session
 * never sees `ws` (the nats.js transport pattern) and tests can use any socket.
 */
export interface Transport {
  /**
   * Queues one text frame; false when the socket is no longer open (closing or closed), in which
   * case nothing is queued. The buffer may be shared with other sessions: never mutated.
   */
  send(frame: Buffer): boolean;
  /**
   * Like `send`, for a frame meant for this connection alone (a reply to a request): the
   * transport may hold it until the end of the event loop's turn and write it with the rest of
   * what it sends the connection in that turn (one system call for all), in the same order.
   * Transports without it take replies through `send`.
   */
  reply?(frame: Buffer): boolean;
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /**
   * Sends a WebSocket protocol ping; the peer's WebSocket stack answers it by itself (browsers
   * too), which proves a busy listener alive without any application message.
   */
  ping(): void;
  /** Starts a closing handshake with this code; the socket is destroyed if it does not finish soon. */
  close(code: number, reason: string): void;
  /** Destroys the socket at once (a dead peer gets no closing handshake). */
  terminate(): void;
}
