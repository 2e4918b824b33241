import postgres from 'postgres';
import { BarrageError } from '../../errors.js';
import type {
  AlertInbox,
  ExpiredAlert,
  InboxPage,
  InboxQuery,
  MarkReadResult,
  NewAlert,
  PutAlertResult,
} from '../inbox.js';
import {
  deleteAlertSteps,
  expireAlertsSteps,
  forgetKeysSteps,
  inboxSql,
  inboxSteps,
  markReadSteps,
  putAlertSteps,
  type Steps,
} from '../inbox-steps.js';
import { MIGRATIONS_TABLE_SQL, pendingMigrations } from '../migrations.js';
import { fromRow, type MessageRow } from '../rows.js';
import {
  BEFORE_SQL,
  LATEST_SQL,
  REMOVE_SQL,
  SEGMENT_COMMENTS_SQL_POSTGRES,
  SEGMENT_COPY_SQL,
  SEGMENT_RENDER_KEEP_SQL_POSTGRES,
  SEGMENT_SQL_POSTGRES,
  TIMELINE_SQL,
} from '../sql.js';
import {
  type BeforeQuery,
  type SegmentQuery,
  type Store,
  type StoredMessage,
  type StoreHealth,
  StoreUnavailableError,
  type TimelineQuery,
} from '../types.js';
import { clientOptions, redact, withoutPassword } from './client.js';
import { drive, InboxGroupCommit } from './inbox-group.js';
import { BatchWriter } from './writer.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/db`. */
  url: string;
  /** Connections in the pool. @default 4 */
  poolSize?: number;
  /** Connections that write a batch's parts side by side (writer.ts). @default 2 */
  writeConnections?: number;
}

/**
 * The PostgreSQL store, through the `postgres` client (docs/storage.md says why): a batch is
 * written in parts side by side, each one INSERT of column arrays (`unnest`, writer.ts), idempotent
 * on (room, id), so a retried batch or a second node never duplicates a comment. Migrations run
 * under an advisory lock, so nodes starting together apply each once.
 */
export class PostgresStore implements Store, AlertInbox {
  readonly kind = 'postgres';
  /** Reads, deletes and migrations. */
  private readonly sql: postgres.Sql;
  /** Appends, on connections of their own. */
  private readonly writer: BatchWriter;
  private failure: string | null = null;
  private readonly inboxQueries = inboxSql('postgres');
  /** Stored pushes, acks, reads and deletes, grouped into shared transactions. */
  private readonly inboxGroups: InboxGroupCommit;
  /** Until when segment reads render without keeping a copy (see `keepFailed`). */
  private keepsPausedUntil = 0;
  private keepFailureSaid = false;

  constructor(private readonly options: PostgresStoreOptions) {
    this.sql = postgres(options.url, clientOptions(options.poolSize ?? 4));
    this.writer = new BatchWriter(
      (max) => postgres(options.url, clientOptions(max)),
      options.writeConnections ?? 2,
    );
    this.inboxGroups = new InboxGroupCommit(this.sql, (query) => this.run(query));
  }

  async start(): Promise<void> {
    try {
      await this.migrate();
    } catch (err) {
      await this.close().catch(() => {});
      const where = redact(this.options.url);
      throw new BarrageError(
        'BARRAGE_ERR_STORE',
        `${where}: ${withoutPassword((err as Error).message, this.options.url)}`,
      );
    }
  }

  /** Applies pending migrations; returns the versions applied. */
  async migrate(): Promise<number[]> {
    return await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('barrage_migrations'))`;
      await tx.unsafe(MIGRATIONS_TABLE_SQL);
      const [row] = await tx`SELECT COALESCE(MAX(version), 0) AS v FROM barrage_migrations`;
      const applied: number[] = [];
      for (const m of pendingMigrations(Number(row!.v), redact(this.options.url))) {
        if (m.postgres.trim() !== '') await tx.unsafe(m.postgres);
        await tx`INSERT INTO barrage_migrations VALUES (${m.version}, ${m.name}, ${Date.now()})`;
        applied.push(m.version);
      }
      return applied;
    });
  }

  async append(batch: readonly StoredMessage[]): Promise<void> {
    if (batch.length === 0) return;
    // One row per id (the first wins, as when it is already stored): a duplicate inside the
    // statement would break the unique constraint on every retry.
    const seen = new Set<string>();
    const rows = batch.filter((m) => {
      const key = `${m.room}\n${m.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    await this.run(() => this.writer.write(rows));
  }

  async timeline(q: TimelineQuery): Promise<StoredMessage[]> {
    const after = q.after ?? { t: -1, id: '' };
    return this.rows(TIMELINE_SQL, [q.room, q.from, q.to, after.t, after.id, q.limit]);
  }

  async segment(q: SegmentQuery): Promise<StoredMessage[]> {
    const rows = await this.segmentRead(SEGMENT_SQL_POSTGRES, q);
    return (rows as unknown as MessageRow[]).map(fromRow);
  }

  /**
   * The segment's stored copy when it is current (migration 6: one value read, instead of
   * ~11 000 scattered rows), one statement on its own; else rendered from its rows and kept as
   * the copy in one statement, in a transaction with bitmap scans off (see `segmentRead`). Read
   * raw: the text's bytes as they arrived, never decoded to a string. A copy that cannot be kept
   * does not fail the read (see `keepFailed`).
   */
  async segmentComments(q: SegmentQuery): Promise<Uint8Array> {
    const params = [q.room, q.from, q.to, q.perSecond];
    const copy = await this.run(() => this.sql.unsafe(SEGMENT_COPY_SQL, params).raw());
    const kept = firstValue(copy);
    if (kept) return kept;
    if (Date.now() >= this.keepsPausedUntil) {
      try {
        return await this.rendered(SEGMENT_RENDER_KEEP_SQL_POSTGRES, params);
      } catch (err) {
        this.keepFailed(err);
      }
    }
    return this.run(() => this.rendered(SEGMENT_COMMENTS_SQL_POSTGRES, params));
  }

  async segmentCommentsFromRows(q: SegmentQuery): Promise<Uint8Array> {
    const params = [q.room, q.from, q.to, q.perSecond];
    return this.run(() => this.rendered(SEGMENT_COMMENTS_SQL_POSTGRES, params));
  }

  /** A segment rendered by `query` (one text, read raw), in a transaction with bitmap scans off. */
  private rendered(query: string, params: unknown[]): Promise<Uint8Array> {
    return this.sql.begin(async (tx) => {
      const [, rows] = await Promise.all([
        tx.unsafe('SET LOCAL enable_bitmapscan = off'),
        tx.unsafe(query, params as postgres.ParameterOrJSON<never>[]).raw(),
      ]);
      return firstValue(rows) ?? EMPTY;
    }) as Promise<Uint8Array>;
  }

  /**
   * A render-keep failed (a read-only role, a hot standby, a full disk, or the database itself
   * failing): the read renders without keeping instead, and so do the reads of the next
   * KEEP_PAUSE_MS, so a database that refuses writes does not render every segment twice.
   * Said once per store: the read itself is answered, and a database that fails reads too is
   * reported by them.
   */
  private keepFailed(err: unknown): void {
    this.keepsPausedUntil = Date.now() + KEEP_PAUSE_MS;
    if (this.keepFailureSaid) return;
    this.keepFailureSaid = true;
    const why = withoutPassword((err as Error).message, this.options.url);
    process.emitWarning(
      `postgres: a segment copy could not be kept (${why}); while that lasts, reads render without keeping, retrying every ${KEEP_PAUSE_MS / 1000} s (said once)`,
      { code: 'BARRAGE_SEGMENT_KEEP' },
    );
  }

  /**
   * A segment query with bitmap scans off for its transaction. Without statistics (autovacuum off,
   * or a table not analyzed yet) the planner takes a bitmap scan of each second, which reads and
   * sorts every row of the segment (~50 000 of a 1M-comment video) instead of the first places of
   * the density index: 280 ms instead of tens. The SET is pipelined with the query.
   */
  private segmentRead(query: string, q: SegmentQuery): Promise<postgres.RowList<postgres.Row[]>> {
    const params = [q.room, q.from, q.to, q.perSecond];
    return this.run(() =>
      this.sql.begin(async (tx) => {
        const [, rows] = await Promise.all([
          tx.unsafe('SET LOCAL enable_bitmapscan = off'),
          tx.unsafe(query, params),
        ]);
        return rows;
      }),
    ) as Promise<postgres.RowList<postgres.Row[]>>;
  }

  async before(q: BeforeQuery): Promise<StoredMessage[]> {
    const rows = q.before
      ? await this.rows(BEFORE_SQL, [q.room, q.before.epoch, q.before.offset, q.limit])
      : await this.rows(LATEST_SQL, [q.room, q.limit]);
    return rows.reverse();
  }

  async remove(room: string, id: string): Promise<boolean> {
    const result = await this.run(() => this.sql.unsafe(REMOVE_SQL, [room, id]));
    return result.count > 0;
  }

  async expire(ts: number, max: number): Promise<number> {
    await this.summarizeTs();
    let total = 0;
    while (total < max) {
      const limit = Math.min(10_000, max - total);
      // The ts BRIN index (migration 5), not a scan of the table: without statistics (never
      // analyzed while autovacuum is off) the planner guesses a third of the rows match and
      // scans the whole table even when none does; through the index that pass reads nothing.
      const result = await this.run(() =>
        this.sql.begin(async (tx) => {
          const [, deleted] = await Promise.all([
            tx.unsafe('SET LOCAL enable_seqscan = off'),
            tx.unsafe(EXPIRE_SQL, [ts, limit]),
          ]);
          return deleted;
        }),
      );
      total += result.count;
      if (result.count === 0) break;
    }
    return total;
  }

  /**
   * Summarizes the heap pages written since the ts BRIN index (migration 5) last was: a range
   * without a summary matches every cutoff, so unsummarized, the delete would read every page
   * written since. Cheap (only the new pages). Only the table's owner may; a node running as
   * another role deletes correctly without it, reading more.
   */
  private async summarizeTs(): Promise<void> {
    await this.run(async () => {
      try {
        await this.sql`SELECT brin_summarize_new_values('barrage_messages_ts')`;
      } catch (err) {
        if ((err as { code?: string }).code !== '42501') throw err; // 42501: not the owner
      }
    });
  }

  putAlert(alert: NewAlert, cap: number): Promise<PutAlertResult> {
    return this.inboxGroups.submit(
      alert.userId,
      () => putAlertSteps(this.inboxQueries, alert, cap),
      true,
    );
  }

  inbox(query: InboxQuery): Promise<InboxPage> {
    return this.inboxGroups.submit(query.userId, () => inboxSteps(this.inboxQueries, query), false);
  }

  markRead(userId: string, alerts: readonly string[] | null, now: number): Promise<MarkReadResult> {
    return this.inboxGroups.submit(
      userId,
      () => markReadSteps(this.inboxQueries, userId, alerts, now),
      true,
    );
  }

  deleteAlert(
    userId: string,
    alert: string,
    now: number,
  ): Promise<{ deleted: boolean; unread: boolean }> {
    return this.inboxGroups.submit(
      userId,
      () => deleteAlertSteps(this.inboxQueries, userId, alert, now),
      true,
    );
  }

  expireAlerts(now: number, max: number): Promise<ExpiredAlert[]> {
    return this.steps(expireAlertsSteps(this.inboxQueries, now, max));
  }

  forgetKeys(before: number, max: number): Promise<number> {
    return this.steps(forgetKeysSteps(this.inboxQueries, before, max));
  }

  /** Runs an inbox operation's statements in one transaction (see inbox-steps.ts). */
  private steps<R>(steps: Steps<R>): Promise<R> {
    return this.run(() =>
      this.sql.begin((tx) => drive(tx, steps, this.sql.options.prepare)),
    ) as Promise<R>;
  }

  health(): StoreHealth {
    return this.failure ? { ok: false, detail: this.failure } : { ok: true };
  }

  async close(): Promise<void> {
    await Promise.all([this.sql.end({ timeout: 2 }), this.writer.close()]);
  }

  private async rows(query: string, params: unknown[]): Promise<StoredMessage[]> {
    const rows = await this.run(() =>
      this.sql.unsafe(query, params as postgres.ParameterOrJSON<never>[]),
    );
    return (rows as unknown as MessageRow[]).map(fromRow);
  }

  /** Runs a query; any failure marks the store unhealthy until the next success. */
  private async run<T>(query: () => Promise<T>): Promise<T> {
    try {
      const result = await query();
      this.failure = null;
      return result;
    } catch (err) {
      this.failure = `postgres: ${withoutPassword((err as Error).message, this.options.url)}`;
      throw new StoreUnavailableError(this.failure);
    }
  }
}

const EMPTY = new Uint8Array(0);

/** How long segment reads render without keeping after a copy could not be kept. */
const KEEP_PAUSE_MS = 60_000;

/** The first column of the first row of a raw result (a Buffer), or undefined. */
function firstValue(rows: readonly (readonly unknown[])[]): Uint8Array | undefined {
  return rows[0]?.[0] as Uint8Array | undefined;
}

/** Retention, one step: $1 the cutoff (ms), $2 the most rows. */
const EXPIRE_SQL =
  'DELETE FROM barrage_messages WHERE seq IN (SELECT seq FROM barrage_messages WHERE ts < $1 LIMIT $2)';
