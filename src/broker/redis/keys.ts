/**
 * Every Redis key and pub/sub channel name of the Redis broker is built here, and only here.
 *
 * Layout (`P` is the prefix, default `barrage`; `{...}` is a Cluster hash tag, so everything of one
 * room, one user or one node lands on one slot):
 *
 * | name | kind | holds |
 * |---|---|---|
 * | `P:r:{ROOM}:m` | hash | room meta: `e` epoch, `s` last offset (PEXPIRE metaTtlMs, refreshed on use; without messages, presenceTtlMs renewed while a member is held, see empty-rooms.ts) |
 * | `P:r:{ROOM}:h` | stream | history: entry id `OFFSET-0`, fields `t` ts and `d` encoded line |
 * | `P:r:{ROOM}:c` | channel | room messages: `OFFSET:EPOCH:LINE` |
 * | `P:u:{USER}:c` | channel | pushes to one user |
 * | `P:all:{all}:c` | channel | pushes to everyone (broadcast) |
 * | `P:n:{NODE}:c` | channel | replies to one node's push requests (`REQID:COUNT`) |
 * | `P:n:{NODE}:o` | hash | the node's online counts: field room, value count (PEXPIRE presenceTtlMs) |
 * | `P:n:{NODE}:s` | string | the node's latest stats report, JSON (PX presenceTtlMs) |
 * | `P:nodes` | sorted set | node ids that reported presence or stats, score = expiry time in ms |
 * | `P:m:{USER}:KIND` | string | a global moderation rule (KIND mute, ban or shadow): value = expiry ms or 0 (PX when it expires) |
 * | `P:m:{USER}:KIND:ROOM` | string | the same rule in one room |
 * | `P:m:{USER}:i` | sorted set | the user's rules, member `KIND` or `KIND ROOM`, score = expiry ms or +inf |
 * | `P:r:{ROOM}:slow` | string | the room's slow mode interval, ms (absent: off) |
 * | `P:r:{ROOM}:t:USER` | string | a user's slow mode turn in the room (SET NX PX interval) |
 * | `P:mod:{mod}:c` | channel | moderation changes and kicks, JSON (see moderation.ts) |
 *
 * Room names cannot contain braces (protocol's ROOM_NAME rule), so a room's hash tag is exact.
 * A user id may contain `}`; its channel name stays unique, only its slot is then computed from a
 * shorter tag, which is harmless.
 */

/** Builds key and channel names under one prefix. */
export class RedisKeys {
  /** Channel of broadcast pushes. */
  readonly allChannel: string;
  /** Sorted set of node ids with presence entries. */
  readonly nodesKey: string;
  /** Channel of moderation changes and kicks (every node subscribes). */
  readonly moderationChannel: string;

  constructor(readonly prefix: string) {
    if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
      throw new Error(`Redis key prefix must be non-empty, without braces or spaces: "${prefix}"`);
    }
    this.allChannel = `${prefix}:all:{all}:c`;
    this.nodesKey = `${prefix}:nodes`;
    this.moderationChannel = `${prefix}:mod:{mod}:c`;
  }

  /** String holding one moderation rule of a user, global (`room` null) or in one room. */
  moderationRule(userId: string, kind: string, room: string | null): string {
    const base = `${this.prefix}:m:{${userId}}:${kind}`;
    return room === null ? base : `${base}:${room}`;
  }

  /** Sorted set indexing a user's moderation rules (same slot as the rules). */
  moderationIndex(userId: string): string {
    return `${this.prefix}:m:{${userId}}:i`;
  }

  /** String holding a room's slow mode interval. */
  slowMode(room: string): string {
    return `${this.prefix}:r:{${room}}:slow`;
  }

  /** String marking a user's slow mode turn in a room, expiring with the interval. */
  slowTurn(room: string, userId: string): string {
    return `${this.prefix}:r:{${room}}:t:${userId}`;
  }

  /** Hash of a room's epoch and last offset. */
  roomMeta(room: string): string {
    return `${this.prefix}:r:{${room}}:m`;
  }

  /** Stream holding a room's history. */
  roomStream(room: string): string {
    return `${this.prefix}:r:{${room}}:h`;
  }

  /** Channel of a room's messages. */
  roomChannel(room: string): string {
    return `${this.prefix}:r:{${room}}:c`;
  }

  /** Channel of pushes to one user. */
  userChannel(userId: string): string {
    return `${this.prefix}:u:{${userId}}:c`;
  }

  /** Channel on which one node receives replies to its push requests. */
  replyChannel(nodeId: string): string {
    return `${this.prefix}:n:{${nodeId}}:c`;
  }

  /** Hash of one node's online counts per room. */
  nodeOnline(nodeId: string): string {
    return `${this.prefix}:n:{${nodeId}}:o`;
  }

  /** String holding one node's latest stats report. */
  nodeStats(nodeId: string): string {
    return `${this.prefix}:n:{${nodeId}}:s`;
  }
}
