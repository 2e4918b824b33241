/**
 * The alert inbox on SQLite: each operation of inbox-steps.ts run synchronously in one
 * transaction of the database thread (worker.ts), with statements prepared once.
 */
import type Database from 'better-sqlite3';
import type { InboxQuery, NewAlert } from '../inbox.js';
import {
  deleteAlertSteps,
  expireAlertsSteps,
  forgetKeysSteps,
  inboxSql,
  inboxSteps,
  markReadSteps,
  putAlertSteps,
  type Rows,
  type Step,
  type Steps,
} from '../inbox-steps.js';

/** The inbox operations the database thread answers. */
export type InboxOp =
  | 'putAlert'
  | 'inbox'
  | 'markRead'
  | 'deleteAlert'
  | 'expireAlerts'
  | 'forgetKeys';

/** Handlers of the inbox operations for one open database. */
export function inboxHandlers(db: Database.Database): Record<InboxOp, (args: unknown) => unknown> {
  const q = inboxSql('sqlite');
  const prepared = new Map<string, Database.Statement>();
  const exec = (step: Step): Rows => {
    let statement = prepared.get(step.sql);
    if (!statement) {
      statement = db.prepare(step.sql);
      prepared.set(step.sql, statement);
    }
    const named: Record<number, unknown> = {};
    step.params.forEach((v, i) => {
      named[i + 1] = v;
    });
    if (statement.reader) return statement.all(named) as Rows;
    statement.run(named);
    return [];
  };
  const run = db.transaction(<R>(steps: Steps<R>): R => {
    let next = steps.next();
    while (!next.done) next = steps.next(exec(next.value));
    return next.value;
  });
  return {
    putAlert: (args) => {
      const { alert, cap } = args as { alert: NewAlert; cap: number };
      return run(putAlertSteps(q, alert, cap));
    },
    inbox: (args) => run(inboxSteps(q, args as InboxQuery)),
    markRead: (args) => {
      const { userId, alerts, now } = args as {
        userId: string;
        alerts: string[] | null;
        now: number;
      };
      return run(markReadSteps(q, userId, alerts, now));
    },
    deleteAlert: (args) => {
      const { userId, alert, now } = args as { userId: string; alert: string; now: number };
      return run(deleteAlertSteps(q, userId, alert, now));
    },
    expireAlerts: (args) => {
      const { now, max } = args as { now: number; max: number };
      return run(expireAlertsSteps(q, now, max));
    },
    forgetKeys: (args) => {
      const { before, max } = args as { before: number; max: number };
      return run(forgetKeysSteps(q, before, max));
    },
  };
}
