import {
  type JoinCommand,
  messageLine,
  messageParts,
  PRIORITIES,
  type Priority,
} from '../protocol/index.js';
import type { Archive, StoredMessage } from '../store/types.js';

/** Most stored messages one `joined` reply carries. */
export const MAX_STORED_HISTORY = 1000;

/** Encodes a stored message as the `message` line it was delivered as. */
export function storedLine(m: StoredMessage): Buffer {
  const priority: Priority = PRIORITIES[m.priority] ?? 'normal';
  return messageLine(
    messageParts(m.room, m.data, m.ts, m.from, priority, m.t ?? undefined),
    m.offset,
  );
}

/**
 * The history of a join in a stored room, beyond the in-memory ring (issue 12): with `before`,
 * the `history` messages stored before that offset; otherwise the ring's lines, preceded by
 * stored ones when the ring holds fewer than asked. A store that cannot answer leaves the ring's
 * lines as they are: a join never fails for the store.
 */
export async function withStoredHistory(
  archive: Archive | undefined,
  command: JoinCommand,
  position: { epoch: string; offset: number; recovered: boolean },
  lines: Buffer[],
): Promise<Buffer[]> {
  if (!archive || position.recovered || archive.keeping(command.room) === null) return lines;
  const want = Math.min(command.history ?? 0, MAX_STORED_HISTORY);
  if (command.before === undefined && lines.length >= want) return lines;
  try {
    if (command.before !== undefined) {
      const before = { epoch: command.beforeEpoch ?? position.epoch, offset: command.before };
      if (want === 0) return [];
      const rows = await archive.store.before({ room: command.room, before, limit: want });
      return rows.map(storedLine);
    }
    const oldest = lines.length > 0 ? offsetOf(lines[0]!) : position.offset + 1;
    const rows = await archive.store.before({
      room: command.room,
      before: { epoch: position.epoch, offset: oldest },
      limit: want - lines.length,
    });
    return [...rows.map(storedLine), ...lines];
  } catch {
    return command.before === undefined ? lines : [];
  }
}

function offsetOf(line: Buffer): number {
  return (JSON.parse(line.toString()) as { offset: number }).offset;
}
