/**
 * Group commit for the alert inbox on PostgreSQL. Operations that arrive while earlier ones are
 * committing wait in a queue; each group then runs in ONE transaction (one BEGIN, one COMMIT)
 * with the statements of all its operations pipelined on the connection (the `postgres` client
 * sends queries issued without awaiting back to back). Operations of one user run one after the
 * other, in the order they were called, so each answer is the one it would get alone; different
 * users' operations interleave. Every caller is answered only after its group's COMMIT.
 */
import type postgres from 'postgres';
import type { Rows, Steps } from '../inbox-steps.js';

/** One waiting operation: its user (the unit of ordering) and a maker of its statements. */
interface Waiting {
  user: string;
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
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param sql the pool the groups' transactions run on
   * @param track runs a query and turns any failure into the store's unavailable error
   */
  constructor(
    private readonly sql: postgres.Sql,
    private readonly track: <T>(query: () => Promise<T>) => Promise<T>,
  ) {}

  /** Queues an operation of `user`; resolves with its result after its group committed. */
  submit<R>(user: string, make: () => Steps<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ user, make, resolve: resolve as (value: unknown) => void, reject });
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
      const group = this.queue.splice(0, MAX_GROUP);
      this.inFlight++;
      void this.commit(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commit(group: Waiting[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.sql.begin((tx) => runGroup(tx, group));
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
        for (const op of group) op.reject(failure);
      });
      return;
    }
    // A success clears the store's failure mark.
    await this.track(() => Promise.resolve());
    for (const [i, op] of group.entries()) op.resolve(results[i]);
  }

  private async alone(op: Waiting): Promise<void> {
    try {
      op.resolve(await this.track(() => this.sql.begin((tx) => runGroup(tx, [op]))).then(first));
    } catch (err) {
      op.reject(err);
    }
  }
}

const first = (results: unknown[]) => results[0];

/** Runs a group's operations in one transaction: one chain per user, the chains side by side. */
function runGroup(tx: postgres.TransactionSql, group: Waiting[]): Promise<unknown[]> {
  const tails = new Map<string, Promise<unknown>>();
  return Promise.all(
    group.map((op) => {
      const before = tails.get(op.user) ?? Promise.resolve();
      const done = before.then(() => drive(tx, op.make()));
      tails.set(
        op.user,
        done.catch(() => {}),
      );
      return done;
    }),
  );
}

/** Feeds an operation's statements to the transaction one at a time, each with its rows. */
export async function drive<R>(tx: postgres.TransactionSql, steps: Steps<R>): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    const { sql, params } = next.value;
    const rows = await tx.unsafe(sql, params as postgres.ParameterOrJSON<never>[]);
    next = steps.next(rows as unknown as Rows);
  }
  return next.value;
}
