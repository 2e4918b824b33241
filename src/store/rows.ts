import { rankOf } from './density.js';
import type { StoredMessage } from './types.js';

/** A row as both SQL drivers return it (numbers may come back as strings from PostgreSQL). */
export interface MessageRow {
  room: string;
  id: string;
  epoch: string;
  offset: number | string | bigint;
  t: number | string | null;
  ts: number | string | bigint;
  sender: string | null;
  priority: number | string;
  data: string;
}

/** Maps a row to a message. */
export function fromRow(row: MessageRow): StoredMessage {
  return {
    room: row.room,
    id: row.id,
    epoch: row.epoch,
    offset: Number(row.offset),
    t: row.t === null ? null : Number(row.t),
    ts: Number(row.ts),
    from: row.sender,
    priority: Number(row.priority),
    data: row.data,
  };
}

/** The insert columns of a message, in the order of `INSERT_COLUMNS`. */
export function toRow(m: StoredMessage): (string | number | null)[] {
  return [m.room, m.id, m.epoch, m.offset, m.t, m.ts, m.from, m.priority, rankOf(m.id), m.data];
}

/** The columns `toRow` fills. */
export const INSERT_COLUMNS = `room, id, epoch, "offset", t, ts, sender, priority, rank, data`;
