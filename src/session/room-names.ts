/**
 * The rooms a session is in: a Set's interface (insertion order kept), holding the one room most
 * connections are in without a Set. A Set of one name cost ~150 B per connection (the Set and its
 * hash table); this is one small object. From a second room on, the names move into a Set, which
 * stays for the session's life.
 */
export class RoomNames implements Iterable<string> {
  /** The only room, while there is at most one and no Set was made. */
  private one: string | null = null;
  private many: Set<string> | null = null;

  get size(): number {
    if (this.many !== null) return this.many.size;
    return this.one === null ? 0 : 1;
  }

  has(name: string): boolean {
    return this.many !== null ? this.many.has(name) : this.one === name;
  }

  add(name: string): void {
    if (this.many !== null) this.many.add(name);
    else if (this.one === null) this.one = name;
    else if (this.one !== name) {
      this.many = new Set([this.one, name]);
      this.one = null;
    }
  }

  /** Removes a name; false when it was not there. */
  delete(name: string): boolean {
    if (this.many !== null) return this.many.delete(name);
    if (this.one !== name) return false;
    this.one = null;
    return true;
  }

  [Symbol.iterator](): Iterator<string> {
    if (this.many !== null) return this.many.values();
    return (this.one === null ? [] : [this.one]).values();
  }
}
