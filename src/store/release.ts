/**
 * Answers to a group commit, released a slice at a time. A group of a few hundred operations
 * (a slow fsync or a WAL checkpoint lets that many pile up) committed at once used to resolve
 * all its callers in one turn of the event loop: every stored push answered its HTTP call and
 * every `ack` sent `read` to each device of its user, about 10 ms for 256, during which a new
 * push waited to be read off its socket. Released SLICE at a time with the event loop's I/O in
 * between, a push arriving then waits for one slice at most.
 *
 * A fixed slice per turn caps the release rate at the event loop's turn rate, and a loaded loop
 * turns slowly: at 4000 answers/s and turns of 5 ms, 16 a turn fell behind, answers waited up to
 * 240 ms (p99 180 ms) after their commit, and their callers' objects lived long enough to be
 * promoted, which brought mark-compacts. So a turn releases a quarter of what is waiting, from
 * RELEASE_SLICE up to RELEASE_MAX_SLICE: a backlog clears in a few turns, and no turn runs more
 * than RELEASE_MAX_SLICE callers (about 3 ms of their work).
 *
 * A store keeps one queue for all its groups, so answers keep their commit order across groups
 * too: a group committed while an earlier one is still being released waits behind it (SQLite's
 * thread posts one message per group, and several can arrive in one turn; PostgreSQL's next group
 * commits during the previous one's slices).
 */

/** Answers released per turn of the event loop at least: about a millisecond of callers' work. */
export const RELEASE_SLICE = 16;
/** Answers released per turn at most, however many wait. */
export const RELEASE_MAX_SLICE = 64;
/** A turn releases 1/RELEASE_TURNS of what is waiting (within the two bounds above). */
const RELEASE_TURNS = 4;

/** How many of `waiting` answers one turn releases. */
export function releaseSlice(waiting: number): number {
  return Math.min(RELEASE_MAX_SLICE, Math.max(RELEASE_SLICE, Math.ceil(waiting / RELEASE_TURNS)));
}

/** One group's answers (released by index) and how far they were released. */
interface Group {
  readonly count: number;
  readonly releaseAt: (index: number) => void;
  at: number;
}

/** One store's answers, released in order, a slice per turn over all its groups. */
export class ReleaseQueue {
  private readonly groups: Group[] = [];
  /** Answers queued and not yet released, over all groups. */
  private waiting = 0;
  /** A drain is queued with setImmediate, or running: new groups only join the queue. */
  private busy = false;

  /**
   * Runs `release(item, i)` for every item, in order, after every item of the groups queued
   * before. When nothing is queued, the first slice runs at once.
   */
  release<T>(items: readonly T[], release: (item: T, index: number) => void): void {
    if (items.length === 0) return;
    this.groups.push({ count: items.length, releaseAt: (i) => release(items[i]!, i), at: 0 });
    this.waiting += items.length;
    if (!this.busy) this.drain();
  }

  /**
   * Releases everything still queued now, in order (a store that fails answers what was
   * committed before it tells the rest of its callers).
   */
  flush(): void {
    this.releaseUpTo(Number.POSITIVE_INFINITY);
  }

  /** Releases up to `budget` answers, in order, across groups. */
  private releaseUpTo(budget: number): void {
    // Bounded: each turn of the outer loop releases at least one item of the budget.
    while (budget > 0 && this.groups.length > 0) {
      const group = this.groups[0]!;
      const end = Math.min(group.count, group.at + budget);
      budget -= end - group.at;
      while (group.at < end) {
        this.waiting--;
        group.releaseAt(group.at++);
      }
      if (group.at === group.count) this.groups.shift();
    }
  }

  private readonly drain = (): void => {
    this.busy = true;
    try {
      this.releaseUpTo(releaseSlice(this.waiting));
    } finally {
      // setImmediate runs after the poll phase, so sockets that became readable meanwhile are
      // read before the next slice. (Also after a release threw: the rest still go out.)
      if (this.groups.length > 0) setImmediate(this.drain);
      else this.busy = false;
    }
  };
}
