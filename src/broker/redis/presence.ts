/**
 * Online counts shared between nodes.
 *
 * Each node owns one hash `P:n:{NODE}:o` (room → its member count), rewritten whole on every
 * report (DEL + HSET + PEXPIRE in one MULTI, so a reader never sees it half written) with a TTL of
 * `presenceTtlMs`: when a node dies its counts vanish within that TTL. A sorted set `P:nodes`
 * lists the nodes that reported (score = when their entry expires, by the reporter's clock) so a
 * reader knows whose hash to read; the hash's own TTL, kept by Redis, decides what counts.
 * Reading costs one HMGET per other live node, whatever the number of rooms.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';

/** Presence entries of this node, and the sum of the others'. */
export class Presence {
  private reportedAny = false;

  constructor(
    private readonly cmd: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly ttlMs: number,
  ) {}

  /** Replaces this node's counts (rooms with 0 members are left out) and extends their life. */
  async report(counts: ReadonlyMap<string, number>): Promise<void> {
    const key = this.keys.nodeOnline(this.nodeId);
    const fields: (string | number)[] = [];
    for (const [room, count] of counts) if (count > 0) fields.push(room, count);
    const tx = this.cmd.multi().del(key);
    if (fields.length > 0) tx.hset(key, ...fields).pexpire(key, this.ttlMs);
    const results = await tx.exec();
    for (const [err] of results ?? []) if (err) throw err;
    const now = Date.now();
    await this.cmd.zadd(this.keys.nodesKey, now + this.ttlMs, this.nodeId);
    if (!this.reportedAny || Math.random() < 0.05) {
      // Forget nodes silent for long (their hashes expired long ago).
      await this.cmd.zremrangebyscore(this.keys.nodesKey, '-inf', now - 10 * this.ttlMs);
    }
    this.reportedAny = true;
  }

  /** Members of `rooms` on the other live nodes. Every requested room is in the map. */
  async remote(requested: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const room of requested) out.set(room, 0);
    const rooms = [...out.keys()];
    if (rooms.length === 0) return out;
    // A node's entry may still live a little past its score if clocks differ: read it anyway,
    // the hash TTL decides.
    const since = Date.now() - this.ttlMs;
    const nodes = await this.cmd.zrangebyscore(this.keys.nodesKey, since, '+inf');
    const others = nodes.filter((id) => id !== this.nodeId);
    const rows = await Promise.all(
      others.map((id) => this.cmd.hmget(this.keys.nodeOnline(id), ...rooms)),
    );
    for (const row of rows) {
      row.forEach((value, i) => {
        if (value === null) return;
        const room = rooms[i]!;
        out.set(room, out.get(room)! + Number(value));
      });
    }
    return out;
  }

  /** Removes this node's entries (on a graceful close). */
  async clear(): Promise<void> {
    await this.cmd.del(this.keys.nodeOnline(this.nodeId));
    await this.cmd.zrem(this.keys.nodesKey, this.nodeId);
  }
}
