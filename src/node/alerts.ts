/**
 * Stored pushes (alerts, issue 13; docs/alerts.md): delivered through the ordinary user-push path
 * with their id while they are stored (after the store, when the caller gave an idempotency id);
 * the API answers only after the commit. Redelivered to each connection of the user that
 * authenticates until one acknowledges them; read, withdrawn and dropped lines go to every
 * connection of the user on every node through the same path (as control pushes that no `events`
 * filter holds back). The store does the bookkeeping (src/store/inbox.ts); this module decides
 * what each device is told.
 */
import { randomFillSync } from 'node:crypto';
import type { Broker } from '../broker/types.js';
import type { Logger } from '../log.js';
import type { MetricsSink } from '../metrics/types.js';
import {
  alertPushLine,
  COLLAPSE_KEY,
  droppedLine,
  eventNameProblem,
  readLine,
  USER_ID,
  userIdProblem,
  type WithdrawReason,
  withdrawnLine,
} from '../protocol/index.js';
import type { Session } from '../session/index.js';
import {
  ALERT_KEY_TTL_MS,
  type AlertInbox,
  type InboxPage,
  type PutAlertResult,
} from '../store/inbox.js';
import { encodeData } from './data.js';
import { ReplyError } from './errors.js';
import { viaStore } from './store-errors.js';

/**
 * The event name of control pushes (read, withdrawn, dropped): never a valid push event, so no
 * application push has it, and the node hands such lines to every connection of the user.
 */
export const CONTROL_EVENT = '';

/** Longest `ttlMs` of a stored push: 30 days. */
export const MAX_ALERT_TTL_MS = 30 * 86_400_000;

/** How often expired alerts and old idempotency keys are swept, ms, and how many per round. */
const SWEEP_MS = 1000;
const SWEEP_BATCH = 1000;
/**
 * Rounds of one sweep while rounds come back full, and the time after which it stops anyway: a
 * node storing more than SWEEP_BATCH alerts with a ttl (or with an id) a second keeps up, up to
 * SWEEP_ROUNDS x SWEEP_BATCH a second, instead of a backlog growing for as long as the load lasts.
 */
const SWEEP_ROUNDS = 20;
const SWEEP_BUDGET_MS = 500;

/** Runs `round` (which returns how many rows it removed) again while it removes a full batch. */
async function rounds(round: () => Promise<number>): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < SWEEP_ROUNDS; i++) {
    if ((await round()) < SWEEP_BATCH || Date.now() - started >= SWEEP_BUDGET_MS) return;
  }
}

const NO_STORE = 'no store configured (--store none): alerts need a store';

/** Where alerts are kept and how many per user. */
export interface AlertOptions {
  inbox: AlertInbox;
  /** Alerts kept per user; past it the oldest read, then the oldest unread are removed. */
  perUser: number;
}

/** The options of one stored push. */
export interface StoredPushOptions {
  /** Time to live, ms (1 to MAX_ALERT_TTL_MS). */
  ttlMs?: number;
  /** Replaces the user's unread alert with this key. */
  collapseKey?: string;
  /** The caller's idempotency key (24 h, per user). */
  id?: string;
}

/** The answer of a stored push. */
export interface StoredPushResult {
  delivered: number;
  alert: string;
  stored: true;
  duplicate?: true;
  replaced?: string;
}

/** Alert counters since the node started (`/api/stats` `alerts`, `barrage_alerts_*_total`). */
export interface AlertCounts {
  stored: number;
  /** Alert lines handed to connections, live and redelivered. */
  delivered: number;
  acked: number;
  expired: number;
  collapsed: number;
  dropped: number;
}

/** What the alerts use of the engine. */
export interface AlertEngine {
  readonly broker: Broker;
  readonly log: Logger;
  readonly metrics?: MetricsSink;
}

/** Random bytes for alert ids, drawn 8 at a time and refilled once used up. */
const ID_POOL = Buffer.alloc(8 * 512);
let idPoolAt = ID_POOL.length;

/**
 * A new alert id: `A`, the time in base 36 (9 characters, so ids sort by time), 11 random (8
 * bytes in base64url). The random bytes come from a pool filled 4 KiB at a time: one call into
 * the CSPRNG per id cost about 5 % of a stored push's CPU (docs/performance.md).
 */
export function newAlertId(ts: number): string {
  if (idPoolAt === ID_POOL.length) {
    randomFillSync(ID_POOL);
    idPoolAt = 0;
  }
  const random = ID_POOL.toString('base64url', idPoolAt, idPoolAt + 8);
  idPoolAt += 8;
  return `A${ts.toString(36).padStart(9, '0')}${random}`;
}

/** The alert side of one node. */
export class Alerts {
  readonly counts: AlertCounts = {
    stored: 0,
    delivered: 0,
    acked: 0,
    expired: 0,
    collapsed: 0,
    dropped: 0,
  };
  private sweeping = false;

  constructor(
    private readonly engine: AlertEngine,
    private readonly options: AlertOptions | undefined,
  ) {}

  /** Whether this node keeps alerts (it has a store with an inbox). */
  get enabled(): boolean {
    return this.options !== undefined;
  }

  /**
   * Stores a push for a user and delivers it live (docs/alerts.md); resolves after the commit.
   * Without an idempotency id the delivery runs while the store commits: the store is asked
   * first (so this node's store applies an ack of the alert after it), and if the store then
   * fails the devices are told `withdrawn` `not_stored` and the call rejects. With an id the
   * store decides first whether it is a duplicate, so a duplicate never reaches a device.
   * Rejects with ReplyError.
   */
  async push(
    userId: string,
    event: string,
    data: unknown,
    options: StoredPushOptions = {},
  ): Promise<StoredPushResult> {
    const { inbox, perUser } = this.need();
    const problem = userIdProblem(userId) ?? eventNameProblem(event) ?? optionsProblem(options);
    if (problem) throw new ReplyError('bad_request', problem);
    const json = encodeData(data ?? null);
    const ts = Date.now();
    const alert = newAlertId(ts);
    const expiresAt = options.ttlMs === undefined ? null : ts + options.ttlMs;
    const stored = viaStore(this.engine.log, () =>
      inbox.putAlert(
        {
          userId,
          alert,
          event,
          data: json,
          ts,
          expiresAt,
          collapseKey: options.collapseKey ?? null,
          key: options.id ?? null,
        },
        perUser,
      ),
    );
    const line = alertPushLine(event, json, ts, { alert, expiresAt });
    let result: PutAlertResult;
    let delivered: number;
    if (options.id === undefined) {
      const delivering = this.deliver(userId, event, line, ts);
      try {
        result = await stored;
      } catch (err) {
        await delivering;
        this.withdraw(userId, [alert], 'not_stored');
        throw err;
      }
      delivered = await delivering;
    } else {
      result = await stored;
      if (result.duplicate)
        return { delivered: 0, alert: result.alert, stored: true, duplicate: true };
      delivered = await this.deliver(userId, event, line, ts);
    }
    this.counts.stored++;
    this.engine.metrics?.alertInboxSize(result.size);
    if (result.replaced.length > 0) {
      this.counts.collapsed += result.replaced.length;
      this.withdraw(userId, result.replaced, 'collapsed', alert);
    }
    if (result.dropped.length > 0) {
      this.counts.dropped += result.dropped.length;
      this.withdraw(userId, result.dropped, 'dropped');
      this.control(userId, droppedLine(result.droppedTotal, result.droppedAt ?? ts));
    }
    const answer: StoredPushResult = { delivered, alert, stored: true };
    if (result.replaced.length > 0) answer.replaced = result.replaced[0]!;
    return answer;
  }

  /**
   * Hands an alert's line to every connection of the user that takes `event`, on every node;
   * resolves with how many got it. Never rejects: an alert the broker cannot deliver now is
   * stored, and the devices get it on their next authentication (docs/alerts.md).
   */
  private async deliver(userId: string, event: string, line: Buffer, ts: number): Promise<number> {
    let delivered = 0;
    try {
      delivered = await this.engine.broker.push({ kind: 'user', userId }, event, line);
    } catch (err) {
      this.engine.log.warn({ err: (err as Error).message }, 'stored alert not delivered live');
    }
    this.counts.delivered += delivered;
    if (delivered > 0) this.engine.metrics?.alertTiming('delivery', Date.now() - ts);
    return delivered;
  }

  /**
   * Sends a newly authenticated connection its user's unread alerts, oldest first, as its
   * `events` filter allows, after the `dropped` line when the cap has dropped some. Never throws:
   * a store that cannot answer now leaves them for the next authentication.
   */
  async redeliver(session: Session): Promise<void> {
    const userId = session.userId;
    if (!this.options || userId === null) return;
    let page: InboxPage;
    try {
      const now = Date.now();
      page = await this.options.inbox.inbox({
        userId,
        unreadOnly: true,
        limit: this.options.perUser,
        now,
      });
    } catch (err) {
      this.engine.log.warn({ err: (err as Error).message }, 'alerts not redelivered');
      return;
    }
    if (session.closed) return;
    const now = Date.now();
    if (page.dropped > 0) session.send(droppedLine(page.dropped, page.droppedAt ?? 0), false, now);
    for (const a of page.alerts) {
      if (!session.accepts(a.event)) continue;
      const line = alertPushLine(a.event, a.data, a.ts, a);
      session.send(line, false, now);
      this.counts.delivered++;
      this.engine.metrics?.alertTiming('delivery', now - a.ts);
    }
  }

  /** A connection's `ack`: marks its own user's alerts read; the user's devices get `read`. */
  async ack(session: Session, alerts: string[]): Promise<{ acked: string[]; unknown: string[] }> {
    const userId = session.userId;
    if (userId === null) throw new ReplyError('unauthorized', 'authenticate to acknowledge alerts');
    const acked = await this.markRead(userId, alerts);
    return { acked: acked.read, unknown: acked.unknown };
  }

  /**
   * Marks alerts of a user read (null: all unread ones) and tells every connection of the user
   * which ones changed. Returns those, and the asked ids that are not the user's (never applied).
   */
  async markRead(
    userId: string,
    alerts: readonly string[] | null,
  ): Promise<{ read: string[]; unknown: string[] }> {
    const { inbox } = this.need();
    const now = Date.now();
    const result = await viaStore(this.engine.log, () => inbox.markRead(userId, alerts, now));
    const read = result.read.map((r) => r.alert);
    if (read.length > 0) {
      this.counts.acked += read.length;
      for (const r of result.read) this.engine.metrics?.alertTiming('ack', now - r.ts);
      this.control(userId, readLine(read));
    }
    return { read, unknown: result.unknown };
  }

  /** A page of a user's inbox, oldest first. */
  async inbox(userId: string, unreadOnly: boolean, limit: number): Promise<InboxPage> {
    const { inbox } = this.need();
    return viaStore(this.engine.log, () =>
      inbox.inbox({ userId, unreadOnly, limit, now: Date.now() }),
    );
  }

  /** Deletes one alert of a user; an unread one is withdrawn from the user's connections. */
  async remove(userId: string, alert: string): Promise<boolean> {
    const { inbox } = this.need();
    const result = await viaStore(this.engine.log, () =>
      inbox.deleteAlert(userId, alert, Date.now()),
    );
    if (result.unread) this.withdraw(userId, [alert], 'deleted');
    return result.deleted;
  }

  /**
   * One sweep (the node runs it every SWEEP_MS): expired alerts deleted, their unread ones
   * withdrawn from the devices, and idempotency keys past ALERT_KEY_TTL_MS forgotten, each a
   * round of SWEEP_BATCH at a time for as long as rounds come back full (see SWEEP_ROUNDS).
   */
  async sweep(): Promise<void> {
    if (!this.options || this.sweeping) return;
    this.sweeping = true;
    const { inbox } = this.options;
    try {
      await this.sweepRounds('alert expiry sweep failed', async () => {
        const expired = await inbox.expireAlerts(Date.now(), SWEEP_BATCH);
        this.counts.expired += expired.length;
        const byUser = new Map<string, string[]>();
        for (const e of expired) {
          if (!e.unread) continue;
          const list = byUser.get(e.userId) ?? [];
          list.push(e.alert);
          byUser.set(e.userId, list);
        }
        for (const [userId, alerts] of byUser) this.withdraw(userId, alerts, 'expired');
        return expired.length;
      });
      // Its own phase: a failing expiry does not stop old keys from being forgotten.
      await this.sweepRounds('idempotency key sweep failed', () =>
        inbox.forgetKeys(Date.now() - ALERT_KEY_TTL_MS, SWEEP_BATCH),
      );
    } finally {
      this.sweeping = false;
    }
  }

  /** `rounds` of one sweep phase; a failure is logged with `what`, never thrown. */
  private async sweepRounds(what: string, round: () => Promise<number>): Promise<void> {
    try {
      await rounds(round);
    } catch (err) {
      this.engine.log.warn({ err: (err as Error).message }, what);
    }
  }

  /** How often the node should call `sweep`, ms; null when it keeps no alerts. */
  get sweepEveryMs(): number | null {
    return this.options ? SWEEP_MS : null;
  }

  private withdraw(userId: string, alerts: string[], reason: WithdrawReason, by?: string): void {
    this.control(userId, withdrawnLine(alerts, reason, by));
  }

  /** A line for every connection of the user, on every node; nobody waits for its count. */
  private control(userId: string, line: Buffer): void {
    this.engine.broker
      .push({ kind: 'user', userId }, CONTROL_EVENT, line)
      .catch((err: Error) =>
        this.engine.log.warn({ err: err.message }, 'alert notice not delivered'),
      );
  }

  private need(): AlertOptions {
    if (!this.options) throw new ReplyError('unavailable', NO_STORE);
    return this.options;
  }
}

/** Why stored-push options are refused, or null. */
function optionsProblem(o: StoredPushOptions): string | null {
  const { ttlMs, collapseKey, id } = o;
  if (
    ttlMs !== undefined &&
    (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_ALERT_TTL_MS)
  )
    return `"ttlMs" must be an integer from 1 to ${MAX_ALERT_TTL_MS}`;
  if (collapseKey !== undefined && !COLLAPSE_KEY.test(collapseKey))
    return '"collapseKey" must be 1-128 characters of letters, digits and _ - : .';
  if (id !== undefined && !USER_ID.test(id))
    return '"id" must be 1-128 characters without whitespace';
  return null;
}
