import type postgres from 'postgres';
import { rankOf } from '../density.js';
import type { StoredMessage } from '../types.js';

/**
 * The PostgreSQL store's batch writer (docs/storage.md, "How the PostgreSQL writer batches").
 *
 * Nearly all of an insert's cost is in the server (seven B-trees to update a row), and one
 * backend runs on one core. So a batch is split into parts written at the same time on
 * `lanes` connections of their own, each part one `INSERT … SELECT FROM unnest(…)` (one array
 * parameter per column) in its own transaction.
 *
 * Order: "load earlier" pages by `seq`, which must follow publish order within a room. Parts
 * committing side by side would interleave the sequence, so `seq` is not left to the column
 * default: every batch first reserves its values with one statement on a connection that does
 * nothing else, in call order (pipelined; a batch reserves while the one before it inserts), and
 * the parts insert them explicitly. Batch after batch, row after row, `seq` ascends in the order
 * `write` was called, whichever part commits first.
 */

/**
 * The inserted columns and their types, one array parameter each, in the order `columnLiterals`
 * fills them (kept here rather than taken from rows.ts, so the two cannot drift apart).
 */
const COLUMN_TYPES: readonly [string, string][] = [
  ['seq', 'int8'],
  ['room', 'text'],
  ['id', 'text'],
  ['epoch', 'text'],
  ['"offset"', 'int8'],
  ['t', 'int4'],
  ['ts', 'int8'],
  ['sender', 'text'],
  ['priority', 'int2'],
  ['rank', 'int4'],
  ['data', 'text'],
];
const COLUMNS = COLUMN_TYPES.map(([name]) => name).join(', ');
const FROM_ARRAYS = `unnest(${COLUMN_TYPES.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS b(${COLUMNS})`;

/**
 * The usual insert: no conflict handling, so the server does no extra index probe per row. A row
 * already stored (a batch retried after a commit whose answer was lost, or a second node racing
 * on one id) fails it with a unique violation, and the part is written again with `SKIP_STORED`.
 */
const INSERT_SQL = `INSERT INTO barrage_messages (${COLUMNS}) SELECT * FROM ${FROM_ARRAYS}`;
/**
 * The idempotent insert: skips ids already stored with an anti-join, cheaper than `ON CONFLICT
 * DO NOTHING`'s speculative insertion (docs/storage.md). A writer racing us on one id can still
 * commit between the check and the insert: that is another unique violation, and another try.
 */
const SKIP_STORED_SQL = `${INSERT_SQL}
 WHERE NOT EXISTS (SELECT 1 FROM barrage_messages m WHERE m.room = b.room AND m.id = b.id)`;
const UNIQUE_VIOLATION = '23505';
const TRIES = 4;

/** Reserves `$1` values of the `seq` sequence (migration 1's bigserial), ascending, as text. */
const RESERVE_SQL = `SELECT array_agg(s ORDER BY s)::text AS seqs
 FROM (SELECT nextval('barrage_messages_seq_seq') AS s FROM generate_series(1, $1::int4)) r`;

/** Batches smaller than this many rows a part are written whole. */
const MIN_PART = 200;

export class BatchWriter {
  private readonly sequencer: postgres.Sql;
  private readonly lanes: postgres.Sql[];
  private nextLane = 0;

  /** `connect(1)` opens one connection of its own (the store's client settings). */
  constructor(connect: (max: number) => postgres.Sql, lanes: number) {
    this.sequencer = connect(1);
    this.lanes = Array.from({ length: Math.max(1, lanes) }, () => connect(1));
  }

  /**
   * Writes distinct messages (one per room and id); resolves once every part is committed.
   * Rejects with the driver's error when a part failed: parts already committed stay, and the
   * caller's retry skips them.
   */
  async write(rows: readonly StoredMessage[]): Promise<void> {
    // Sent now, before any await: reservations reach the sequencer in call order.
    const reserved = this.sequencer.unsafe(RESERVE_SQL, [rows.length]).execute();
    const count =
      rows.length >= 2 * MIN_PART
        ? Math.min(this.lanes.length, Math.floor(rows.length / MIN_PART))
        : 1;
    const size = Math.ceil(rows.length / count);
    const first = this.nextLane;
    this.nextLane = (this.nextLane + count) % this.lanes.length;
    const [row] = (await reserved) as unknown as { seqs: string }[];
    const seqs = row!.seqs.slice(1, -1).split(',');
    const parts: Promise<void>[] = [];
    for (let k = 0; k < count; k++) {
      const from = k * size;
      const to = Math.min(rows.length, from + size);
      const params = columnLiterals(rows, seqs, from, to);
      parts.push(this.insert(this.lanes[(first + k) % this.lanes.length]!, params));
    }
    // Every part settles before the batch does: a retry never races a part still in flight.
    const results = await Promise.allSettled(parts);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async close(): Promise<void> {
    await Promise.all([this.sequencer, ...this.lanes].map((c) => c.end({ timeout: 2 })));
  }

  private async insert(lane: postgres.Sql, params: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await lane.unsafe(attempt === 1 ? INSERT_SQL : SKIP_STORED_SQL, params);
        return;
      } catch (err) {
        if (attempt >= TRIES || (err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      }
    }
  }
}

const NEEDS_ESCAPE = /[\\"]/;
const ESCAPED = /[\\"]/g;

/** A text element of an array literal: always quoted, `\` and `"` escaped. */
function quoted(text: string): string {
  return NEEDS_ESCAPE.test(text) ? `"${text.replace(ESCAPED, '\\$&')}"` : `"${text}"`;
}

/** An array literal (`{a,b,NULL}`) of `values`, already in element syntax. */
function literal(values: string[]): string {
  return `{${values.join(',')}}`;
}

/**
 * The column arrays of rows [from, to), as PostgreSQL array literals in `COLUMN_TYPES` order, which
 * the server casts per column: one parameter per column, whatever the number of rows.
 */
function columnLiterals(
  rows: readonly StoredMessage[],
  seqs: readonly string[],
  from: number,
  to: number,
): string[] {
  const n = to - from;
  const columns = Array.from({ length: COLUMN_TYPES.length }, () => new Array<string>(n));
  const [seq, room, id, epoch, offset, t, ts, sender, priority, rank, data] = columns as [
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
    string[],
  ];
  for (let i = 0; i < n; i++) {
    const m = rows[from + i]!;
    seq[i] = seqs[from + i]!;
    room[i] = quoted(m.room);
    id[i] = quoted(m.id);
    epoch[i] = quoted(m.epoch);
    offset[i] = String(m.offset);
    t[i] = m.t === null ? 'NULL' : String(m.t);
    ts[i] = String(m.ts);
    sender[i] = m.from === null ? 'NULL' : quoted(m.from);
    priority[i] = String(m.priority);
    rank[i] = String(rankOf(m.id));
    data[i] = quoted(m.data);
  }
  return columns.map(literal);
}
