import { BarrageError } from './errors.js';

interface Waiter {
  resolve: () => void;
  reject: (err: BarrageError) => void;
}

/** Callers waiting for the client to connect, each with its own time limit. */
export class Waiters {
  private list: Waiter[] = [];

  /** Resolves on `resolveAll`, rejects on `rejectAll` or with `timeout` after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve: () => done(resolve),
        reject: (e) => done(() => reject(e)),
      };
      const t = setTimeout(
        () => w.reject(new BarrageError('timeout', 'not connected in time')),
        ms,
      );
      const done = (settle: () => void) => {
        clearTimeout(t);
        this.list = this.list.filter((x) => x !== w);
        settle();
      };
      this.list.push(w);
    });
  }

  /** Lets every waiter go on. */
  resolveAll(): void {
    for (const w of [...this.list]) w.resolve();
  }

  /** Fails every waiter with `err`. */
  rejectAll(err: BarrageError): void {
    for (const w of [...this.list]) w.reject(err);
  }
}
