/**
 * Output held until the end of the event loop's turn, so that everything a connection is sent in
 * one turn leaves in one `write(2)`.
 *
 * A client that publishes gets an `ok` per publish; the frames of several publishes often arrive
 * in one read (or in several reads of the same poll phase), and a publisher that is a member of
 * the room also gets its own message. Each of those was its own system call, the dominant cost of
 * a small write (docs/performance.md). A transport with something to say in reply holds it, asks
 * to be flushed here, and writes its held frames together when the turn ends: in the check phase
 * (`setImmediate`), after every socket this turn read has been handled. A room batch the hub
 * flushes in the same check phase goes out in its own write when it was queued later (a message
 * that came back through a broker, say): the order holds, only those two writes stay apart.
 */

/** Something that holds output to write when the turn ends. */
export interface TurnFlushable {
  /** Writes what it holds (called once per request to be flushed). */
  flushTurn(): void;
}

let due: TurnFlushable[] = [];
let scheduled = false;

/**
 * Asks for `target.flushTurn()` at the end of this turn. Call it once per transition from
 * holding nothing to holding something: each call is one flush.
 */
export function flushAtEndOfTurn(target: TurnFlushable): void {
  due.push(target);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushDue);
}

function flushDue(): void {
  scheduled = false;
  const list = due;
  due = [];
  // Bounded: the list was taken whole; anything held during these flushes is a new turn's.
  for (let i = 0; i < list.length; i++) list[i]!.flushTurn();
}
