import type { Transport } from '../../src/session/index.js';

/**
 * An in-memory Transport for unit tests of the pure send-path and fan-out logic: it records frames
 * and counts queued bytes like a socket whose peer reads nothing until `drain()`. Real sockets are
 * tested under test/server.
 */
export class MemoryTransport implements Transport {
  readonly sent: Buffer[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  terminations = 0;
  pings = 0;
  queued = 0;

  get bufferedAmount(): number {
    return this.queued;
  }

  send(frame: Buffer): boolean {
    this.sent.push(frame);
    this.queued += frame.length;
    return true;
  }

  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }

  ping(): void {
    this.pings++;
  }

  terminate(): void {
    this.terminations++;
  }

  /** The peer read everything. */
  drain(): void {
    this.queued = 0;
  }

  /** Offsets of every message line received, frame by frame. */
  offsets(): number[][] {
    return this.sent.map((f) =>
      f
        .toString()
        .split('\n')
        .map((l) => JSON.parse(l).offset as number),
    );
  }
}
