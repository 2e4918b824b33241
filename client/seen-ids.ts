/**
 * The alert ids a client has already shown, most recent last, at most `capacity` of them (a
 * least-recently-seen list: a Map keeps insertion order, so the oldest id is its first key).
 * Written here instead of taken from a package because the SDK has no runtime dependencies and
 * this needs only `add`/`has` over a Map.
 */
export class SeenIds {
  private readonly ids = new Map<string, true>();

  /** Keeps at most `capacity` ids (at least 1). */
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** The number of ids kept. */
  get size(): number {
    return this.ids.size;
  }

  /** Whether `id` was seen (and is still remembered). */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Remembers `id` as the most recent; returns false when it was already remembered (it then
   * becomes the most recent again). Forgets the oldest id past `capacity`.
   */
  add(id: string): boolean {
    const known = this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return !known;
  }
}
