/**
 * Group commit for the alert inbox on PostgreSQL. Operations that arrive while earlier ones are
 * committing wait in a queue; each group then runs in ONE transaction (one BEGIN, one COMMIT)
 * with the statements of all its operations pipelined on the connection (the `postgres` client
 * sends queries issued without awaiting back to back). Operations of one user run one after the
 * other, in the order they were called, so each answer is the one it would get alone; different
 * users' operations interleave. A user's operations never run in two groups at once: while a
 * group with an operation of user U is in flight, U's later operations wait for the next group,
 * so an `ack` that arrives while the alert's own group is committing (alerts are delivered while
 * they are stored, docs/alerts.md) runs after that COMMIT and finds the alert. Every caller is
 * answered only after its group's COMMIT.
 *
 * A group first takes a transaction-scoped advisory lock per user it writes (stores, acks,
 * deletes), in one order (LOCK_USERS), so two nodes' groups never deadlock on a user's rows or
 * size (migration 9's triggers), and two nodes storing for the same user run the cap's count and
 * trim one after the other and never keep more than the cap. Reads take no lock.
 */
import type postgres from 'postgres';
import { LOCK_USERS, type Rows, type Steps } from '../inbox-steps.js';
import { ReleaseQueue } from '../release.js';

/** One waiting operation: its user (the unit of ordering) and a maker of its statements. */
interface Waiting {
  user: string;
  /** It writes the user's alerts: the group locks the user (LOCK_USERS); a read does not. */
  writes: boolean;
  make: () => Steps<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Groups in flight at once (on two connections of the pool), as the timeline writer keeps. */
const MAX_IN_FLIGHT = 2;
/** Most operations in one group transaction. */
const MAX_GROUP = 256;
/** A server-side error (SQLSTATE, e.g. a deadlock between two nodes' groups), not a lost link. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

export class InboxGroupCommit {
  private queue: Waiting[] = [];
  private inFlight = 0;
  /** Operations in flight per user: those users' later operations wait (see the header). */
  private readonly busy = new Map<string, number>();
  private scheduled = false;
  /** The groups' answers, released in order across groups (release.ts). */
  private readonly releases = new ReleaseQueue();

  /**
   * @param sql the pool the groups' transactions run on
   * @param track runs a query and turns any failure into the store's unavailable error
   */
  constructor(
    private readonly sql: postgres.Sql,
    private readonly track: <T>(query: () => Promise<T>) => Promise<T>,
  ) {}

  /** Queues an operation of `user`; resolves with its result after its group committed. */
  submit<R>(user: string, make: () => Steps<R>, writes: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const resolveAny = resolve as (value: unknown) => void;
      this.queue.push({ user, writes, make, resolve: resolveAny, reject });
      // Started on the next turn, so operations called in the same turn share a group.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const group = this.takeGroup();
      if (group.length === 0) return; // every waiting user has a group in flight
      for (const op of group) this.busy.set(op.user, (this.busy.get(op.user) ?? 0) + 1);
      this.inFlight++;
      void this.commit(group).finally(() => {
        for (const op of group) {
          const left = this.busy.get(op.user)! - 1;
          if (left === 0) this.busy.delete(op.user);
          else this.busy.set(op.user, left);
        }
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Up to MAX_GROUP waiting operations, in call order, of users with nothing in flight. */
  private takeGroup(): Waiting[] {
    if (this.busy.size === 0 && this.queue.length <= MAX_GROUP) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    const group: Waiting[] = [];
    const left: Waiting[] = [];
    for (const op of this.queue) {
      if (group.length < MAX_GROUP && !this.busy.has(op.user)) group.push(op);
      else left.push(op);
    }
    this.queue = left;
    return group;
  }

  private async commit(group: Waiting[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.sql.begin((tx) => runGroup(tx, group, this.sql.options.prepare));
    } catch (err) {
      // The transaction rolled back as a whole, so nothing of the group is stored. A server-side
      // error of one operation (or a deadlock with another node) must not fail the others: each
      // runs again alone. A lost connection fails them all.
      const code = (err as { code?: unknown }).code;
      if (group.length > 1 && typeof code === 'string' && SQLSTATE.test(code)) {
        for (const op of group) await this.alone(op);
        return;
      }
      await this.track(() => Promise.reject(err)).catch((failure: unknown) => {
        // Through the queue too: behind the answers of earlier groups still being released, so a
        // user's answers keep the order of the user's operations.
        this.releases.release(group, (op) => op.reject(failure));
      });
      return;
    }
    // A success clears the store's failure mark.
    await this.track(() => Promise.resolve());
    // A slice at a time: a group of hundreds answered at once held new pushes off the event loop.
    this.releases.release(group, (op, i) => op.resolve(results[i]));
  }

  /** Runs one operation in a transaction of its own; its answer joins the release queue. */
  private async alone(op: Waiting): Promise<void> {
    let answer: () => void;
    try {
      const result = await this.track(() =>
        this.sql.begin((tx) => runGroup(tx, [op], this.sql.options.prepare)),
      ).then(first);
      answer = () => op.resolve(result);
    } catch (err) {
      answer = () => op.reject(err);
    }
    this.releases.release([op], answer);
  }
}

const first = (results: unknown[]) => results[0];

/**
 * Runs a group's operations in one transaction: the users it writes locked first, then one chain
 * per user, the chains side by side.
 */
async function runGroup(
  tx: postgres.TransactionSql,
  group: Waiting[],
  prepare: boolean,
): Promise<unknown[]> {
  const writing = [...new Set(group.filter((op) => op.writes).map((op) => op.user))];
  // Sent first, but not waited for before the chains: the connection runs statements in the
  // order sent, so the locks are held before any operation's statement, at no extra round trip.
  const locked =
    writing.length > 0
      ? tx.unsafe(LOCK_USERS, [JSON.stringify(writing)], { prepare }).execute()
      : null;
  const tails = new Map<string, Promise<unknown>>();
  const results = Promise.all(
    group.map((op) => {
      const before = tails.get(op.user) ?? Promise.resolve();
      const done = before.then(() => drive(tx, op.make(), prepare));
      tails.set(
        op.user,
        done.catch(() => {}),
      );
      return done;
    }),
  );
  const [, all] = await Promise.all([locked, results]);
  return all;
}

/**
 * Feeds an operation's statements to the transaction one at a time, each with its rows.
 * `prepare` is the pool's option (sql.options.prepare, true unless the URL or options turned it
 * off, e.g. for a transaction-mode pooler): prepared once per connection, the inbox's handful of
 * statements are not parsed and planned again on every call (`unsafe` does not prepare by
 * default). A group of stored pushes and acks took a third of the time in a micro-benchmark.
 */
export async function drive<R>(
  tx: postgres.TransactionSql,
  steps: Steps<R>,
  prepare: boolean,
): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    const { sql, params } = next.value;
    const rows = await tx.unsafe(sql, params as postgres.ParameterOrJSON<never>[], { prepare });
    next = steps.next(rows as unknown as Rows);
  }
  return next.value;
}
