/** One kept message of a room's history. */
export interface HistoryEntry {
  offset: number;
  ts: number;
  line: Buffer;
}

/**
 * A fixed-capacity ring of a room's latest messages, oldest first, trimmed by count on append and
 * by age on read. Offsets in it are consecutive.
 */
export class HistoryRing {
  /** Allocated on the first append: a room that never had a message costs no slots. */
  private entries: (HistoryEntry | undefined)[] = [];
  private start = 0;
  private size = 0;

  constructor(private readonly capacity: number) {}

  /** Appends the newest entry, dropping the oldest when full. A capacity of 0 keeps nothing. */
  push(entry: HistoryEntry): void {
    if (this.capacity === 0) return;
    if (this.entries.length === 0) this.entries = new Array(this.capacity);
    const end = (this.start + this.size) % this.capacity;
    this.entries[end] = entry;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** Drops entries accepted before `minTs`. */
  expire(minTs: number): void {
    while (this.size > 0) {
      const oldest = this.entries[this.start]!;
      if (oldest.ts >= minTs) return;
      this.entries[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
  }

  /** Number of entries held. */
  get length(): number {
    return this.size;
  }

  /** Offset of the oldest entry held, or undefined when empty. */
  get oldestOffset(): number | undefined {
    return this.size === 0 ? undefined : this.entries[this.start]!.offset;
  }

  /** Lines of entries with offset > `after`, oldest first. */
  linesAfter(after: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.size; i++) {
      const e = this.entries[(this.start + i) % this.capacity]!;
      if (e.offset > after) out.push(e.line);
    }
    return out;
  }

  /** The last `n` lines, oldest first. */
  lastLines(n: number): Buffer[] {
    const count = Math.min(n, this.size);
    const out: Buffer[] = new Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = this.entries[(this.start + this.size - count + i) % this.capacity]!.line;
    }
    return out;
  }
}
