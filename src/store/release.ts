/**
 * Answers to a group commit, released a slice at a time. A group of a few hundred operations
 * (a slow fsync or a WAL checkpoint lets that many pile up) committed at once used to resolve
 * all its callers in one turn of the event loop: every stored push answered its HTTP call and
 * every `ack` sent `read` to each device of its user, about 10 ms for 256, during which a new
 * push waited to be read off its socket. Released SLICE at a time with the event loop's I/O in
 * between, a push arriving then waits for one slice at most.
 *
 * A store keeps one queue for all its groups, so answers keep their commit order across groups
 * too: a group committed while an earlier one is still being released waits behind it (SQLite's
 * thread posts one message per group, and several can arrive in one turn; PostgreSQL's next group
 * commits during the previous one's slices).
 */

/** Answers released per turn of the event loop: about a millisecond of callers' work. */
export const RELEASE_SLICE = 16;

/** One group's answers (released by index) and how far they were released. */
interface Group {
  readonly count: number;
  readonly releaseAt: (index: number) => void;
  at: number;
}

/** One store's answers, released in order, RELEASE_SLICE per turn over all its groups. */
export class ReleaseQueue {
  private readonly groups: Group[] = [];
  /** A drain is queued with setImmediate, or running: new groups only join the queue. */
  private busy = false;

  /**
   * Runs `release(item, i)` for every item, in order, after every item of the groups queued
   * before. When nothing is queued, the first slice runs at once.
   */
  release<T>(items: readonly T[], release: (item: T, index: number) => void): void {
    if (items.length === 0) return;
    this.groups.push({ count: items.length, releaseAt: (i) => release(items[i]!, i), at: 0 });
    if (!this.busy) this.drain();
  }

  private readonly drain = (): void => {
    this.busy = true;
    try {
      let budget = RELEASE_SLICE;
      // Bounded: each turn of the outer loop releases at least one item of the budget.
      while (budget > 0 && this.groups.length > 0) {
        const group = this.groups[0]!;
        const end = Math.min(group.count, group.at + budget);
        budget -= end - group.at;
        while (group.at < end) group.releaseAt(group.at++);
        if (group.at === group.count) this.groups.shift();
      }
    } finally {
      // setImmediate runs after the poll phase, so sockets that became readable meanwhile are
      // read before the next slice. (Also after a release threw: the rest still go out.)
      if (this.groups.length > 0) setImmediate(this.drain);
      else this.busy = false;
    }
  };
}
