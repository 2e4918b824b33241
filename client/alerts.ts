import type { BarrageError } from './errors.js';
import type { ClientEvents } from './options.js';
import { SeenIds } from './seen-ids.js';
import type { Alert, Inbox, InboxFrame, ServerFrame } from './types.js';

/** Most alerts kept while the app has no `alert` listener yet. */
const MAX_QUEUED = 1000;
/** Most ids in one `ack` line (protocol.md §16). */
export const MAX_ACK_IDS = 100;

/** What the alert desk needs from its client. */
export interface AlertHost {
  /** Emits one of the alert events to the app. */
  emit<K extends 'alert' | 'read' | 'withdrawn' | 'resync'>(
    event: K,
    payload: ClientEvents[K],
  ): void;
  /** Whether the app listens to `alert`. */
  listening(): boolean;
  /** Sends a request that may be sent again after a reconnect; resolves with the reply. */
  request(body: Record<string, unknown>): Promise<ServerFrame>;
  /** Reports a failure the app did not ask for (an automatic ack). */
  fail(err: BarrageError): void;
}

/** How alerts are handled (from ClientOptions). */
export interface AlertDeskOptions {
  autoAck: boolean;
  /** Alert ids remembered to hand each out once. */
  seenIds: number;
}

type PushLine = Extract<ServerFrame, { type: 'push' }>;

/**
 * The client's side of alerts (docs/alerts.md): hands each alert id to the app once however
 * often the server redelivers it (an LRU of ids: at least once on the wire, once on screen),
 * keeps alerts that arrive before the app listens, batches acknowledgements into `ack` lines,
 * and passes on `read`, `withdrawn` and the resync hint of `dropped`.
 */
export class AlertDesk {
  private readonly seen: SeenIds;
  private queue: Alert[] = [];
  private flushScheduled = false;
  private batch: { ids: Set<string>; done: Promise<void> } | null = null;
  private lastDropTs = 0;

  constructor(
    private readonly host: AlertHost,
    private readonly options: AlertDeskOptions,
  ) {
    this.seen = new SeenIds(options.seenIds);
  }

  /** Handles the alert lines; false for any other line. */
  onFrame(f: ServerFrame): boolean {
    switch (f.type) {
      case 'push':
        if (typeof f.alert !== 'string') return false;
        this.receive(f as PushLine & { alert: string });
        return true;
      case 'read':
        if (!Array.isArray(f.alerts)) return true;
        this.unqueue(f.alerts);
        this.host.emit('read', { alerts: f.alerts });
        return true;
      case 'withdrawn': {
        if (!Array.isArray(f.alerts)) return true;
        this.unqueue(f.alerts);
        const event: ClientEvents['withdrawn'] = { alerts: f.alerts, reason: f.reason };
        if (typeof f.replacedBy === 'string') event.replacedBy = f.replacedBy;
        this.host.emit('withdrawn', event);
        return true;
      }
      case 'dropped':
        // Sent again at every authentication while the count is above 0: only a newer drop is news.
        if (typeof f.ts === 'number' && f.ts > this.lastDropTs) {
          this.lastDropTs = f.ts;
          this.host.emit('resync', { count: f.count, ts: f.ts });
        }
        return true;
      default:
        return false;
    }
  }

  /** Acknowledges alerts by id: one `ack` line per 100 ids of the same moment. */
  ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    let batch = this.batch;
    if (!batch) {
      const pending = new Set<string>();
      const done = new Promise<void>((resolve, reject) => {
        // Acks of the same turn (a redelivery of many alerts) share one line.
        queueMicrotask(() => {
          this.batch = null;
          this.send([...pending]).then(resolve, reject);
        });
      });
      batch = this.batch = { ids: pending, done };
    }
    for (const id of ids) batch.ids.add(id);
    return batch.done;
  }

  /** Reads the user's inbox (`inbox` command). */
  async inbox(options: { unread?: boolean; limit?: number }): Promise<Inbox> {
    const body: Record<string, unknown> = { type: 'inbox' };
    if (options.unread !== undefined) body.unread = options.unread;
    if (options.limit !== undefined) body.limit = options.limit;
    const f = (await this.host.request(body)) as InboxFrame;
    const inbox: Inbox = {
      userId: f.userId,
      unread: f.unread,
      alerts: (Array.isArray(f.alerts) ? f.alerts : []).map((a) => {
        const item: Inbox['alerts'][number] = {
          id: a.alert,
          event: a.event,
          data: a.data,
          ts: a.ts,
          read: a.read === true,
        };
        if (typeof a.expiresAt === 'number') item.expiresAt = a.expiresAt;
        return item;
      }),
      dropped: typeof f.dropped === 'number' ? f.dropped : 0,
    };
    if (typeof f.droppedAt === 'number') inbox.droppedAt = f.droppedAt;
    return inbox;
  }

  /** The app added an `alert` listener: hand it what came before, after its `on()` returns. */
  listenerAdded(): void {
    if (this.queue.length === 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const queued = this.queue;
      this.queue = [];
      for (const a of queued) this.deliver(a);
    });
  }

  /** Alerts read or withdrawn before the app listened are not news any more: never shown. */
  private unqueue(ids: string[]): void {
    if (this.queue.length === 0) return;
    const gone = new Set(ids);
    this.queue = this.queue.filter((a) => !gone.has(a.id));
  }

  private receive(f: PushLine & { alert: string }): void {
    if (!this.seen.add(f.alert)) return; // redelivered: handed out already
    const alert: Alert = {
      id: f.alert,
      event: f.event,
      data: f.data,
      ts: f.ts,
      ack: () => this.ack([f.alert]),
    };
    if (typeof f.expiresAt === 'number') alert.expiresAt = f.expiresAt;
    if (!this.host.listening() || this.flushScheduled) {
      if (this.queue.length >= MAX_QUEUED) this.queue.shift();
      this.queue.push(alert);
      return;
    }
    this.deliver(alert);
  }

  private deliver(alert: Alert): void {
    this.host.emit('alert', alert);
    if (!this.options.autoAck) return;
    alert.ack().catch((err: BarrageError) => {
      // Closed for good: nothing to report. Otherwise the alert stays unread and comes back.
      if (err.code !== 'closed') this.host.fail(err);
    });
  }

  private async send(ids: string[]): Promise<void> {
    const lines: Promise<ServerFrame>[] = [];
    for (let k = 0; k < ids.length; k += MAX_ACK_IDS) {
      lines.push(this.host.request({ type: 'ack', alerts: ids.slice(k, k + MAX_ACK_IDS) }));
    }
    await Promise.all(lines);
  }
}
