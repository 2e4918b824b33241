import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
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
import { ReleaseQueue } from '../release.js';
import {
  type BeforeQuery,
  type SegmentQuery,
  type Store,
  type StoredMessage,
  type StoreHealth,
  StoreUnavailableError,
  type TimelineQuery,
} from '../types.js';
import { packBatch, packedTransfer } from './packed.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

/** The database file inside the data directory. */
export const DATABASE_FILE = 'barrage.db';

/**
 * The embedded default store: SQLite (better-sqlite3) in `dataDir/barrage.db`, driven from a
 * worker thread so that no statement ever blocks the event loop. One process per data directory:
 * a second one is refused at start with a message that says so.
 */
export class SqliteStore implements Store, AlertInbox {
  readonly kind = 'sqlite';
  readonly file: string;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (reply: WorkerReply) => void>();
  private nextId = 1;
  private failure: string | null = null;
  /** Requests of this turn, posted to the thread together at its end (one message, not N). */
  private outbox: WorkerRequest[] = [];
  private outboxTransfer: ArrayBuffer[] = [];
  private flushing = false;
  /** The groups' answers, released in order across groups (release.ts). */
  private readonly releases = new ReleaseQueue();

  constructor(dataDir: string) {
    this.file = join(resolve(dataDir), DATABASE_FILE);
  }

  async start(): Promise<void> {
    mkdirSync(resolve(this.file, '..'), { recursive: true });
    const worker = spawnWorker(this.file);
    this.worker = worker;
    const ready = new Promise<WorkerReply>((done) => this.pending.set(0, done));
    // The thread answers a group at a time, after its COMMIT (see ReleaseQueue).
    worker.on('message', (replies: WorkerReply[]) => this.releases.release(replies, this.settle));
    worker.on('error', (err) => this.fail(`database thread failed: ${err.message}`));
    worker.on('exit', () => this.fail('database thread stopped'));
    const reply = await ready;
    if (!reply.ok) {
      await worker.terminate();
      this.worker = null;
      throw openError(this.file, reply.message, reply.code);
    }
    worker.unref();
  }

  append(batch: readonly StoredMessage[]): Promise<void> {
    const packed = packBatch(batch);
    return this.call('append', packed, packedTransfer(packed)) as Promise<void>;
  }

  timeline(query: TimelineQuery): Promise<StoredMessage[]> {
    return this.call('timeline', query) as Promise<StoredMessage[]>;
  }

  segment(query: SegmentQuery): Promise<StoredMessage[]> {
    return this.call('segment', query) as Promise<StoredMessage[]>;
  }

  segmentComments(query: SegmentQuery): Promise<Uint8Array> {
    return this.call('segmentComments', query) as Promise<Uint8Array>;
  }

  segmentCommentsFromRows(query: SegmentQuery): Promise<Uint8Array> {
    return this.call('segmentCommentsFromRows', query) as Promise<Uint8Array>;
  }

  before(query: BeforeQuery): Promise<StoredMessage[]> {
    return this.call('before', query) as Promise<StoredMessage[]>;
  }

  remove(room: string, id: string): Promise<boolean> {
    return this.call('remove', { room, id }) as Promise<boolean>;
  }

  expire(ts: number, max: number): Promise<number> {
    return this.call('expire', { ts, max }) as Promise<number>;
  }

  putAlert(alert: NewAlert, cap: number): Promise<PutAlertResult> {
    return this.call('putAlert', { alert, cap }) as Promise<PutAlertResult>;
  }

  inbox(query: InboxQuery): Promise<InboxPage> {
    return this.call('inbox', query) as Promise<InboxPage>;
  }

  markRead(userId: string, alerts: readonly string[] | null, now: number): Promise<MarkReadResult> {
    return this.call('markRead', { userId, alerts, now }) as Promise<MarkReadResult>;
  }

  deleteAlert(
    userId: string,
    alert: string,
    now: number,
  ): Promise<{ deleted: boolean; unread: boolean }> {
    return this.call('deleteAlert', { userId, alert, now }) as Promise<{
      deleted: boolean;
      unread: boolean;
    }>;
  }

  expireAlerts(now: number, max: number): Promise<ExpiredAlert[]> {
    return this.call('expireAlerts', { now, max }) as Promise<ExpiredAlert[]>;
  }

  forgetKeys(before: number, max: number): Promise<number> {
    return this.call('forgetKeys', { before, max }) as Promise<number>;
  }

  health(): StoreHealth {
    return this.failure ? { ok: false, detail: this.failure } : { ok: true };
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.call('close', null).catch(() => {});
    await worker.terminate();
    this.worker = null;
  }

  private call(
    op: WorkerRequest['op'],
    args: unknown,
    transfer: ArrayBuffer[] = [],
  ): Promise<unknown> {
    const worker = this.worker;
    if (!worker || this.failure) {
      return Promise.reject(new StoreUnavailableError(this.failure ?? 'store is not open'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => {
        if (reply.ok) resolve(reply.value);
        else reject(new StoreUnavailableError(`sqlite: ${reply.message}`));
      });
      // Referenced only while a request waits, so an idle store never holds the process open.
      if (this.pending.size === 1) worker.ref();
      this.outbox.push({ id, op, args });
      this.outboxTransfer.push(...transfer);
      if (!this.flushing) {
        this.flushing = true;
        // After this turn's I/O callbacks: the requests of every socket read in it go together.
        setImmediate(this.flush);
      }
    });
  }

  /** Posts the requests of this turn to the thread in one message. */
  private readonly flush = (): void => {
    this.flushing = false;
    const requests = this.outbox;
    const transfer = this.outboxTransfer;
    this.outbox = [];
    this.outboxTransfer = [];
    // A failure since they were queued has already answered them (see `fail`).
    if (requests.length === 0 || !this.worker) return;
    try {
      this.worker.postMessage(requests, transfer);
    } catch (err) {
      // Not posted (say, arguments that cannot be cloned): its callers are told, and this runs
      // in a setImmediate callback, where a throw would be uncaught and end the process.
      const message = `request not sent to the database thread: ${(err as Error).message}`;
      for (const r of requests) this.settle({ id: r.id, ok: false, message });
    }
  };

  /** Answers the caller of one request. */
  private readonly settle = (reply: WorkerReply): void => {
    const done = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    done?.(reply);
  };

  private fail(why: string): void {
    if (this.worker === null) return;
    this.failure ??= why;
    // Answers the thread sent before it stopped were committed: they go out as they are.
    this.releases.flush();
    for (const [id, done] of this.pending) done({ id, ok: false, message: why });
    this.pending.clear();
    this.outbox = [];
    this.outboxTransfer = [];
  }
}

/**
 * Starts the database thread. Compiled, it runs worker.js; run from source (tests, under tsx) it
 * is worker.ts, which a worker can only load after registering tsx itself.
 */
function spawnWorker(file: string): Worker {
  const workerData = { file };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const source = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${source}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** A clear refusal for the usual reasons a data directory cannot be opened. */
function openError(file: string, message: string, code: string | undefined): BarrageError {
  const fix = (text: string) => new BarrageError('BARRAGE_ERR_STORE', `${file}: ${text}`);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return fix(
      'the data directory is in use by another Barrage process; stop it, or give this one its own --data-dir',
    );
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return fix(
      `not a readable Barrage database (${message}); it was left untouched: move it away or point --data-dir elsewhere`,
    );
  }
  if (code === 'FOREIGN') {
    return fix(
      `is a SQLite database of another program (${message}); it was left untouched: point --data-dir elsewhere`,
    );
  }
  return fix(message);
}
