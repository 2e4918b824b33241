import type { Broker, PublishResult } from '../broker/types.js';
import {
  messageParts,
  type Priority,
  priorityLevel,
  roomNameProblem,
  shadowParts,
} from '../protocol/index.js';
import {
  type Archive,
  messageId,
  type RoomKeeping,
  type StoredMessage,
  type WriteTicket,
} from '../store/types.js';
import { encodeData } from './data.js';
import { brokerFailure, ReplyError } from './errors.js';
import type { ConnectionInfo } from './hooks.js';
import type { NodeOptions } from './options.js';
import type { NodeCounters } from './stats.js';

/**
 * Publishing into a room, for clients and the API: the publish hook, one JSON encoding, the
 * broker (which assigns the offset and delivers), and in a stored room the store step.
 */
export class Publishing {
  constructor(
    private readonly options: NodeOptions,
    private readonly broker: Broker,
    private readonly counters: NodeCounters,
  ) {}

  /**
   * With `shadow` (a shadow-banned user's comment, which needs the connection's user) the message
   * takes its offset and its place in history like any other but reaches only its author's
   * connections, on every node, and is never stored. In a stored room (timeline or chat) the
   * publish resolves only once the store committed it; `t` is the media time of a timeline
   * comment. Rejects with ReplyError.
   */
  async publish(
    room: string,
    data: unknown,
    connection: ConnectionInfo | null,
    priority: Priority,
    options: { shadow?: boolean; t?: number },
  ): Promise<PublishResult> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    let payload = data;
    const hook = this.options.hooks.onPublish;
    if (hook) {
      const decision = await hook({ room, data, connection });
      if (decision && 'reject' in decision) {
        throw new ReplyError(decision.reject.code, decision.reject.message);
      }
      if (decision && 'data' in decision) payload = decision.data;
    }
    const json = encodeData(payload);
    const ts = Date.now();
    const from = connection?.identity?.userId ?? null;
    const { t } = options;
    const shadow = options.shadow === true && from !== null;
    const ticket = storeTicket(this.options.archive, room, t, shadow);
    const message = messageParts(room, json, ts, from, priority, t);
    const parts = shadow ? shadowParts(message) : message;
    let result: PublishResult;
    try {
      result = await this.broker.publish({ room, parts, ts });
    } catch (err) {
      ticket?.release();
      throw brokerFailure(err);
    }
    this.counters.messagesIn++;
    // The store step (issue 12): acknowledged only once committed, exactly once per position.
    await ticket?.commit(storedMessage(room, result, t, ts, from, priority, json));
    return result;
  }

  /**
   * `publish` done at once, without a promise, when nothing in it waits: no publish hook, a room
   * that is not stored, not a shadow publish, and a broker that publishes at once (the embedded
   * one), for the user `from` (null: anonymous). Returns null when it cannot (then call
   * `publish`); throws ReplyError like it. A client publish in a busy node is mostly this path.
   */
  publishNow(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): PublishResult | null {
    const { broker } = this;
    if (this.options.hooks.onPublish || !broker.publishNow) return null;
    const keeping = this.options.archive?.keeping(room) ?? null;
    if (keeping !== null) return null;
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    if (this.options.archive) checkMediaTime(keeping, room, t);
    const ts = Date.now();
    const parts = messageParts(room, encodeData(data), ts, from, priority, t);
    const result = broker.publishNow({ room, parts, ts });
    this.counters.messagesIn++;
    return result;
  }

  /**
   * Whether `publishStored` can take a publish into `room`: a stored room (timeline or chat), no
   * publish hook, and a broker that publishes at once (the embedded one).
   */
  storesAtOnce(room: string): boolean {
    const archive = this.options.archive;
    return (
      archive !== undefined &&
      this.options.hooks.onPublish === undefined &&
      this.broker.publishNow !== undefined &&
      archive.keeping(room) !== null
    );
  }

  /**
   * `publish` into a stored room (see `storesAtOnce`) for the user `from`, not a shadow publish:
   * the checks, the broker's offset and the store's slot are taken now, in call order (so the
   * store commits a connection's comments in the order it sent them), and the promise resolves
   * once the store committed the comment. Throws ReplyError at once when refused (a full write
   * queue included). One promise per comment, no async frames: an ingest of thousands of
   * comments a second is mostly this path (issue 12).
   */
  publishStored(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): Promise<PublishResult> {
    const { broker, options } = this;
    const archive = options.archive;
    if (!archive || !broker.publishNow) throw new Error('publishStored: not a stored publish');
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    const json = encodeData(data);
    checkMediaTime(archive.keeping(room), room, t);
    const ticket = archive.reserve();
    if (!ticket) throw new ReplyError('unavailable', 'store write queue is full', 1000);
    const ts = Date.now();
    let result: PublishResult;
    try {
      result = broker.publishNow({
        room,
        parts: messageParts(room, json, ts, from, priority, t),
        ts,
      });
    } catch (err) {
      ticket.release();
      throw brokerFailure(err);
    }
    this.counters.messagesIn++;
    const committed = ticket.commit(storedMessage(room, result, t, ts, from, priority, json));
    return committed.then(() => result);
  }
}

/**
 * A slot in the store's write queue when the room is stored (never for a shadow-banned user's
 * comment: it is not kept for others); checks `t` against the room.
 */
function storeTicket(
  archive: Archive | undefined,
  room: string,
  t: number | undefined,
  shadow: boolean,
): WriteTicket | null {
  if (!archive) return null;
  const keeping = archive.keeping(room);
  checkMediaTime(keeping, room, t);
  if (keeping === null || shadow) return null;
  const ticket = archive.reserve();
  if (!ticket) throw new ReplyError('unavailable', 'store write queue is full', 1000);
  return ticket;
}

/** `t` (media time) is required in a timeline room and refused in any other. */
function checkMediaTime(keeping: RoomKeeping, room: string, t: number | undefined): void {
  if (keeping === 'timeline' && t === undefined) {
    throw new ReplyError(
      'bad_request',
      `"t" (media time, ms) is required in timeline room ${room}`,
    );
  }
  if (keeping !== 'timeline' && t !== undefined) {
    throw new ReplyError('bad_request', `"t" is only for timeline rooms; ${room} is not one`);
  }
}

/** The store's row of a published message, at the position the broker gave it. */
function storedMessage(
  room: string,
  result: PublishResult,
  t: number | undefined,
  ts: number,
  from: string | null,
  priority: Priority,
  json: string,
): StoredMessage {
  return {
    room,
    id: messageId(result.epoch, result.offset),
    epoch: result.epoch,
    offset: result.offset,
    t: t ?? null,
    ts,
    from,
    priority: priorityLevel(priority),
    data: json,
  };
}
