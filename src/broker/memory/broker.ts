import { randomBytes } from 'node:crypto';
import { messageLine } from '../../protocol/index.js';
import type {
  Broker,
  BrokerHandler,
  BrokerHealth,
  BrokerStats,
  HistoryRequest,
  HistoryResult,
  ModeratedBroker,
  PublishInput,
  PublishResult,
  PushTarget,
} from '../types.js';
import { HistoryRing } from './history.js';
import { MemoryModeration } from './moderation.js';

/** Options of the embedded broker. */
export interface MemoryBrokerOptions {
  /** Messages kept per room for recovery. @default 200 */
  historySize?: number;
  /** How long a message stays in history, in ms. @default 300000 */
  historyTtlMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface RoomStream {
  offset: number;
  epoch: string;
  history: HistoryRing;
  subscribed: boolean;
  /** Last publish time, to forget idle rooms. */
  touchedAt: number;
}

/**
 * The embedded single-process broker: offsets, history with epoch, and synchronous delivery to
 * its one node. Needs nothing installed. Idle rooms (no subscription, history expired) are
 * forgotten, and a forgotten room starts again with a new epoch so recovery across it reports
 * `recovered: false` instead of a silent gap. A room that never had a message is held only while
 * subscribed: reading it otherwise stores nothing, and its last member leaving forgets it, so
 * joins of made-up room names leave nothing behind (security.md, "room state flood").
 */
export class MemoryBroker implements Broker, ModeratedBroker {
  readonly kind = 'memory';
  /** Moderation rules of this one node (see moderation.ts). */
  readonly moderation: MemoryModeration;
  private handler: BrokerHandler | null = null;
  private readonly rooms = new Map<string, RoomStream>();
  private readonly historySize: number;
  private readonly historyTtlMs: number;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private streamsCreated = 0;

  constructor(options: MemoryBrokerOptions = {}) {
    this.historySize = options.historySize ?? 200;
    this.historyTtlMs = options.historyTtlMs ?? 300_000;
    this.now = options.now ?? Date.now;
    this.moderation = new MemoryModeration(this.now);
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.handler = handler;
    const every = Math.max(1000, Math.min(60_000, this.historyTtlMs));
    this.sweepTimer = setInterval(() => this.forgetIdleRooms(), every);
    this.sweepTimer.unref();
  }

  async publish(input: PublishInput): Promise<PublishResult> {
    return this.publishNow(input);
  }

  publishNow(input: PublishInput): PublishResult {
    const stream = this.stream(input.room);
    const offset = ++stream.offset;
    const line = messageLine(input.parts, offset);
    stream.history.push({ offset, ts: input.ts, line });
    stream.touchedAt = this.now();
    if (stream.subscribed) this.handler?.onPublication(input.room, offset, line);
    return { offset, epoch: stream.epoch };
  }

  async history(request: HistoryRequest): Promise<HistoryResult> {
    const stream = this.rooms.get(request.room);
    // No stream: nothing was ever published and nobody here holds the room; store nothing.
    if (!stream) return { offset: 0, epoch: newEpoch(), recovered: false, lines: [] };
    stream.history.expire(this.now() - this.historyTtlMs);
    const { offset, epoch, history } = stream;
    const since = request.since;
    if (since && since.epoch === epoch && since.offset <= offset) {
      const oldest = history.oldestOffset ?? offset + 1;
      // All or nothing: recovered only when every message after `since` is still held.
      if (since.offset === offset || oldest <= since.offset + 1) {
        return { offset, epoch, recovered: true, lines: history.linesAfter(since.offset) };
      }
    }
    const lines = request.limit ? history.lastLines(request.limit) : [];
    return { offset, epoch, recovered: false, lines };
  }

  async subscribeRoom(room: string): Promise<void> {
    this.stream(room).subscribed = true;
  }

  async unsubscribeRoom(room: string): Promise<void> {
    const stream = this.rooms.get(room);
    if (!stream) return;
    stream.subscribed = false;
    // Never had a message: nothing to keep for recovery once its last member left.
    if (stream.offset === 0) this.rooms.delete(room);
  }

  async subscribeUser(): Promise<void> {}

  async unsubscribeUser(): Promise<void> {}

  async push(target: PushTarget, event: string, line: Buffer): Promise<number> {
    return this.handler ? this.handler.onPush(target, event, line) : 0;
  }

  async reportOnline(): Promise<void> {}

  async remoteOnline(): Promise<Map<string, number>> {
    return new Map();
  }

  health(): BrokerHealth {
    return { ok: true };
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.handler = null;
  }

  roomState(): BrokerStats {
    return { streams: this.rooms.size, streamsCreated: this.streamsCreated };
  }

  private stream(room: string): RoomStream {
    let stream = this.rooms.get(room);
    if (!stream) {
      stream = {
        offset: 0,
        epoch: newEpoch(),
        history: new HistoryRing(this.historySize),
        subscribed: false,
        touchedAt: this.now(),
      };
      this.rooms.set(room, stream);
      this.streamsCreated++;
    }
    return stream;
  }

  private forgetIdleRooms(): void {
    const now = this.now();
    const minTs = now - this.historyTtlMs;
    for (const [room, stream] of this.rooms) {
      if (stream.subscribed || stream.touchedAt >= minTs) continue;
      stream.history.expire(minTs);
      if (stream.history.length === 0) this.rooms.delete(room);
    }
  }
}

function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}
