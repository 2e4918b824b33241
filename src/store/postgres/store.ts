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
  inboxSql,
  inboxSteps,
  markReadSteps,
  putAlertSteps,
  type Rows,
  type Steps,
} from '../inbox-steps.js';
import { MIGRATIONS_TABLE_SQL, pendingMigrations } from '../migrations.js';
import { fromRow, INSERT_COLUMNS, type MessageRow, toRow } from '../rows.js';
import { BEFORE_SQL, LATEST_SQL, REMOVE_SQL, SEGMENT_SQL_POSTGRES, TIMELINE_SQL } from '../sql.js';
import {
  type BeforeQuery,
  type SegmentQuery,
  type Store,
  type StoredMessage,
  type StoreHealth,
  StoreUnavailableError,
  type TimelineQuery,
} from '../types.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/db`. */
  url: string;
  /** Connections in the pool. @default 4 */
  poolSize?: number;
}

// Column types of one INSERT … SELECT FROM unnest(…): one array parameter per column.
const UNNEST_TYPES = [
  'text',
  'text',
  'text',
  'int8',
  'int4',
  'int8',
  'text',
  'int2',
  'int4',
  'text',
];
const INSERT_SQL = `INSERT INTO barrage_messages (${INSERT_COLUMNS})
 SELECT * FROM unnest(${UNNEST_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
 ON CONFLICT (room, id) DO NOTHING`;

/**
 * The PostgreSQL store, through the `postgres` client (docs/storage.md says why): a batch is one
 * INSERT of column arrays (`unnest`), idempotent on (room, id), so a retried batch or a second
 * node never duplicates a comment. Migrations run under an advisory lock, so nodes starting
 * together apply each once.
 */
export class PostgresStore implements Store, AlertInbox {
  readonly kind = 'postgres';
  private readonly sql: postgres.Sql;
  private failure: string | null = null;
  private readonly inboxQueries = inboxSql('postgres');

  constructor(private readonly options: PostgresStoreOptions) {
    this.sql = postgres(options.url, {
      max: options.poolSize ?? 4,
      connect_timeout: 5,
      idle_timeout: 60,
      onnotice: () => {},
      // JIT compiles a plan when its estimated cost is high, as a segment's per-second LATERAL
      // reads are estimated: 10+ ms of compiling for a query that runs in a few. Short OLTP
      // statements never gain from it.
      connection: { jit: 'off' },
      // bigint columns come back as numbers: offsets and ms timestamps stay below 2^53.
      types: { bigint: postgres.BigInt },
    });
  }

  async start(): Promise<void> {
    try {
      await this.migrate();
    } catch (err) {
      await this.sql.end({ timeout: 1 }).catch(() => {});
      const where = redact(this.options.url);
      throw new BarrageError('BARRAGE_ERR_STORE', `${where}: ${(err as Error).message}`);
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
        await tx.unsafe(m.postgres);
        await tx`INSERT INTO barrage_migrations VALUES (${m.version}, ${m.name}, ${Date.now()})`;
        applied.push(m.version);
      }
      return applied;
    });
  }

  async append(batch: readonly StoredMessage[]): Promise<void> {
    if (batch.length === 0) return;
    const columns: unknown[][] = UNNEST_TYPES.map(() => new Array(batch.length));
    batch.forEach((m, i) => {
      toRow(m).forEach((value, c) => {
        columns[c]![i] = value;
      });
    });
    // Arrays go as text literals of their element type, which PostgreSQL casts per column.
    await this.run(() => this.sql.unsafe(INSERT_SQL, columns.map(arrayLiteral)));
  }

  async timeline(q: TimelineQuery): Promise<StoredMessage[]> {
    const after = q.after ?? { t: -1, id: '' };
    return this.rows(TIMELINE_SQL, [q.room, q.from, q.to, after.t, after.id, q.limit]);
  }

  async segment(q: SegmentQuery): Promise<StoredMessage[]> {
    return this.rows(SEGMENT_SQL_POSTGRES, [q.room, q.from, q.to, q.perSecond]);
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
    let total = 0;
    while (total < max) {
      const limit = Math.min(10_000, max - total);
      const result = await this.run(() =>
        this.sql.unsafe(
          'DELETE FROM barrage_messages WHERE seq IN (SELECT seq FROM barrage_messages WHERE ts < $1 LIMIT $2)',
          [ts, limit],
        ),
      );
      total += result.count;
      if (result.count === 0) break;
    }
    return total;
  }

  putAlert(alert: NewAlert, cap: number): Promise<PutAlertResult> {
    return this.steps(putAlertSteps(this.inboxQueries, alert, cap));
  }

  inbox(query: InboxQuery): Promise<InboxPage> {
    return this.steps(inboxSteps(this.inboxQueries, query));
  }

  markRead(userId: string, alerts: readonly string[] | null, now: number): Promise<MarkReadResult> {
    return this.steps(markReadSteps(this.inboxQueries, userId, alerts, now));
  }

  deleteAlert(
    userId: string,
    alert: string,
    now: number,
  ): Promise<{ deleted: boolean; unread: boolean }> {
    return this.steps(deleteAlertSteps(this.inboxQueries, userId, alert, now));
  }

  expireAlerts(now: number, max: number): Promise<ExpiredAlert[]> {
    return this.steps(expireAlertsSteps(this.inboxQueries, now, max));
  }

  /** Runs an inbox operation's statements in one transaction (see inbox-steps.ts). */
  private steps<R>(steps: Steps<R>): Promise<R> {
    return this.run(() =>
      this.sql.begin(async (tx) => {
        let next = steps.next();
        while (!next.done) {
          const { sql, params } = next.value;
          const rows = await tx.unsafe(sql, params as postgres.ParameterOrJSON<never>[]);
          next = steps.next(rows as unknown as Rows);
        }
        return next.value;
      }),
    ) as Promise<R>;
  }

  health(): StoreHealth {
    return this.failure ? { ok: false, detail: this.failure } : { ok: true };
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
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
      this.failure = `postgres: ${(err as Error).message}`;
      throw new StoreUnavailableError(this.failure);
    }
  }
}

/** A PostgreSQL array literal (`{"a",NULL,"b"}`) of one column's values. */
function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) =>
    v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`,
  );
  return `{${items.join(',')}}`;
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the database URL';
  }
}
