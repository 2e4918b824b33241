/**
 * Stats reports shared between nodes, so that any node answers `GET /api/stats` for the cluster.
 *
 * Each node owns one string key `P:n:{NODE}:s` holding its latest report (opaque text, JSON from
 * the server), written with SET PX `ttlMs` on every share: a node that stops sharing (killed)
 * vanishes after the TTL. The node is also listed in `P:nodes` (the sorted set presence uses,
 * score = expiry time in ms) so a reader knows whose key to read. Keys of different nodes hash
 * to different Cluster slots, like their presence hashes: reading costs one GET per live node
 * (pipelined), never a multi-key command, so it works the same on Redis Cluster.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';

/** This node's shared report, and the other nodes'. */
export class SharedStats {
  constructor(
    private readonly cmd: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly ttlMs: number,
  ) {}

  /** Replaces this node's report and extends its life by `ttlMs`. */
  async share(report: string): Promise<void> {
    const expires = Date.now() + this.ttlMs;
    await Promise.all([
      this.cmd.set(this.keys.nodeStats(this.nodeId), report, 'PX', this.ttlMs),
      this.cmd.zadd(this.keys.nodesKey, expires, this.nodeId),
    ]);
  }

  /** The reports of the other nodes whose key has not expired, in node id order. */
  async others(): Promise<string[]> {
    // Scores are expiry times by each writer's clock: read a little past them, the key TTL decides.
    const since = Date.now() - this.ttlMs;
    const nodes = await this.cmd.zrangebyscore(this.keys.nodesKey, since, '+inf');
    const others = nodes.filter((id) => id !== this.nodeId).sort();
    const reports = await Promise.all(others.map((id) => this.cmd.get(this.keys.nodeStats(id))));
    return reports.filter((r): r is string => r !== null);
  }

  /** Removes this node's report (on a graceful close). */
  async clear(): Promise<void> {
    await this.cmd.del(this.keys.nodeStats(this.nodeId));
  }
}
