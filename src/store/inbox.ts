/**
 * The alert inbox (issue 13), a store capability shaped like the rest of the store: the engine
 * owns this interface, both SQL backends implement it beside `Store`, and one contract suite
 * (test/contract/inbox-contract.ts) runs on both. Payloads cross it as JSON text.
 */

/** How long an idempotency key (the caller's `id` of a persist push) is remembered, ms. */
export const ALERT_KEY_TTL_MS = 24 * 3_600_000;

/** An alert to store. */
export interface NewAlert {
  userId: string;
  /** The server's id of the alert, unique across users. */
  alert: string;
  event: string;
  /** The payload as JSON text. */
  data: string;
  /** When it was accepted, ms since the epoch. */
  ts: number;
  /** When it expires, ms since the epoch; null: never. */
  expiresAt: number | null;
  /** Replaces the user's unread alert with the same key; null: none. */
  collapseKey: string | null;
  /** The caller's idempotency key, scoped to the user, remembered ALERT_KEY_TTL_MS; null: none. */
  key: string | null;
}

/** What storing an alert did. */
export interface PutAlertResult {
  /** The stored alert's id, or on a duplicate the id the key first stored. */
  alert: string;
  /** True when the key was seen within ALERT_KEY_TTL_MS: nothing was stored. */
  duplicate: boolean;
  /** Unread alerts of the same collapse key that the new one replaced (removed). */
  replaced: string[];
  /** Unread alerts removed by the per-user cap (read ones removed by it are not listed). */
  dropped: string[];
  /** The user's running total of dropped alerts, and when the latest drop happened. */
  droppedTotal: number;
  droppedAt: number | null;
  /** Alerts the user has after the put (read and unread, expired ones not yet swept included). */
  size: number;
}

/** One alert as an inbox lists it. */
export interface InboxAlert {
  alert: string;
  event: string;
  /** JSON text. */
  data: string;
  ts: number;
  read: boolean;
  expiresAt: number | null;
}

/** A page of a user's inbox. */
export interface InboxQuery {
  userId: string;
  /** Only unread alerts. */
  unreadOnly: boolean;
  /** Most alerts listed, oldest first. */
  limit: number;
  /** Alerts that expire at or before this time are left out, ms since the epoch. */
  now: number;
}

/** A user's inbox: a page of alerts (oldest first) and its counts. */
export interface InboxPage {
  alerts: InboxAlert[];
  /** Unread unexpired alerts of the user (all of them, not only the page). */
  unread: number;
  /** Running total of unread alerts the cap dropped, and when the latest drop happened. */
  dropped: number;
  droppedAt: number | null;
}

/** What marking alerts read did. */
export interface MarkReadResult {
  /** Alerts this call changed from unread to read, oldest first, with their `ts`. */
  read: { alert: string; ts: number }[];
  /** Asked ids that are not unexpired alerts of this user (never applied). Empty for "all". */
  unknown: string[];
}

/** One alert removed by the expiry sweep. */
export interface ExpiredAlert {
  userId: string;
  alert: string;
  /** It had not been read: the user's devices are told it was withdrawn. */
  unread: boolean;
}

/** The alert inbox of a store. Every method may reject with `StoreUnavailableError`. */
export interface AlertInbox {
  /**
   * Stores an alert in one transaction: the idempotency key, the collapse, the insert and the
   * per-user cap (`cap` alerts kept; the oldest read ones go first, then the oldest unread ones,
   * which are counted as dropped).
   */
  putAlert(alert: NewAlert, cap: number): Promise<PutAlertResult>;
  /** A page of a user's inbox, oldest first, never an alert expired at `now`. */
  inbox(query: InboxQuery): Promise<InboxPage>;
  /**
   * Marks alerts of one user read (`alerts` null: all unread ones). Only unread unexpired alerts
   * of that user change; when two calls race for one alert exactly one of them reports it.
   */
  markRead(userId: string, alerts: readonly string[] | null, now: number): Promise<MarkReadResult>;
  /** Deletes one alert of a user; `unread` says whether it was unread and unexpired. */
  deleteAlert(
    userId: string,
    alert: string,
    now: number,
  ): Promise<{ deleted: boolean; unread: boolean }>;
  /** Deletes up to `max` alerts expired at `now`; returns them. */
  expireAlerts(now: number, max: number): Promise<ExpiredAlert[]>;
  /** Forgets up to `max` idempotency keys taken before `before` (ms); returns how many. */
  forgetKeys(before: number, max: number): Promise<number>;
}

/** Whether a store keeps alert inboxes (both SQL backends do). */
export function hasInbox<T extends object>(store: T): store is T & AlertInbox {
  return typeof (store as Partial<AlertInbox>).putAlert === 'function';
}
