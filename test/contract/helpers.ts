/** Helpers of the broker contract and the broker-level integration tests. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { BrokerHandler, PushTarget } from '../../src/broker/types.js';
import { type MessageParts, messageParts } from '../../src/protocol/index.js';

/** What one node's handler saw. */
export class Recorder implements BrokerHandler {
  readonly publications: { room: string; offset: number; line: string }[] = [];
  readonly pushes: { target: PushTarget; event: string; line: string }[] = [];
  readonly resyncs: string[] = [];
  /** Connections this node claims per user id (`*` for broadcasts). */
  readonly connections = new Map<string, number>();

  onPublication(room: string, offset: number, line: Buffer): void {
    this.publications.push({ room, offset, line: line.toString() });
  }

  onPush(target: PushTarget, event: string, line: Buffer): number {
    this.pushes.push({ target, event, line: line.toString() });
    return this.connections.get(target.kind === 'user' ? target.userId : '*') ?? 0;
  }

  onResync(room: string): void {
    this.resyncs.push(room);
  }

  /** Publications of one room. */
  of(room: string): { offset: number; line: string }[] {
    return this.publications
      .filter((p) => p.room === room)
      .map((p) => ({ offset: p.offset, line: p.line }));
  }
}

/** Polls `check` every 10 ms until true, failing after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh room name. */
export function roomName(tag = 'room'): string {
  return `${tag}:${randomBytes(5).toString('hex')}`;
}

/** Message parts carrying `i`, as the node would build them. */
export function partsOf(room: string, i: number): MessageParts {
  return messageParts(room, JSON.stringify({ i }), 1_700_000_000_000 + i, null);
}
