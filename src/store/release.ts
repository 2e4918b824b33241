/**
 * Answers to a group commit, released a slice at a time. A group of a few hundred operations
 * (a slow fsync or a WAL checkpoint lets that many pile up) committed at once used to resolve
 * all its callers in one turn of the event loop: every stored push answered its HTTP call and
 * every `ack` sent `read` to each device of its user, about 10 ms for 256, during which a new
 * push waited to be read off its socket. Released SLICE at a time with the event loop's I/O in
 * between, a push arriving then waits for one slice at most. The answers keep their order.
 */

/** Answers released per turn of the event loop: about a millisecond of callers' work. */
export const RELEASE_SLICE = 16;

/** Runs `release(item, i)` for every item, in order, RELEASE_SLICE per turn of the event loop. */
export function releaseInSlices<T>(
  items: readonly T[],
  release: (item: T, index: number) => void,
): void {
  let at = 0;
  const slice = (): void => {
    const end = Math.min(items.length, at + RELEASE_SLICE);
    while (at < end) {
      release(items[at]!, at);
      at++;
    }
    // setImmediate runs after the poll phase, so sockets that became readable meanwhile are
    // read before the next slice.
    if (at < items.length) setImmediate(slice);
  };
  slice();
}
