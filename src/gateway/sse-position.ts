/**
 * The position of an SSE stream in every room it reads, as an event id. A browser's EventSource
 * remembers the last id it saw and sends it back as `Last-Event-ID` when it reconnects, so the id
 * carries what a WebSocket client keeps itself: each room's epoch and last offset. The stream then
 * rejoins every room with `since`, all or nothing, as a WebSocket client would.
 *
 * Form: `p1 ROOM:EPOCH:OFFSET ROOM:EPOCH:OFFSET …`, room and epoch URI-encoded (no space, no
 * colon inside them).
 */

/** Where a stream stands in one room. */
export interface RoomPosition {
  epoch: string;
  offset: number;
}

const VERSION = 'p1';
/** Longest Last-Event-ID accepted (a browser sends back what it got; longer is not ours). */
export const MAX_EVENT_ID_LENGTH = 8192;

/** Encodes the positions of a stream as an event id. */
export function encodePositions(positions: ReadonlyMap<string, RoomPosition>): string {
  let id = VERSION;
  for (const [room, p] of positions) {
    id += ` ${encodeURIComponent(room)}:${encodeURIComponent(p.epoch)}:${p.offset}`;
  }
  return id;
}

/** Decodes an event id; a string saying what is wrong when it is not one of ours. */
export function decodePositions(id: string): Map<string, RoomPosition> | string {
  if (id.length > MAX_EVENT_ID_LENGTH) return `Last-Event-ID longer than ${MAX_EVENT_ID_LENGTH}`;
  const [version, ...entries] = id.split(' ');
  if (version !== VERSION) return 'Last-Event-ID is not a Barrage position';
  const positions = new Map<string, RoomPosition>();
  for (const entry of entries) {
    const m = /^([^:]+):([^:]+):(\d{1,15})$/.exec(entry);
    if (!m) return `Last-Event-ID entry "${entry.slice(0, 40)}" is not ROOM:EPOCH:OFFSET`;
    try {
      positions.set(decodeURIComponent(m[1]!), {
        epoch: decodeURIComponent(m[2]!),
        offset: Number(m[3]),
      });
    } catch {
      return 'Last-Event-ID is not URI-encoded';
    }
  }
  return positions;
}
