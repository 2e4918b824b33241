/**
 * The soak's Redis Cluster (3 masters, one replica each) and its failovers: a master killed every
 * so often, shards in turn; the killed node comes back as the replica of its successor.
 */

import { sleep } from '../test/hostile/support.js';
import {
  type RedisClusterProcess,
  rawCommand,
  startRedisCluster,
} from '../test/support/redis-server.js';

/** What one failover took. */
export interface FailoverRecord {
  killedPort: number;
  /** From the kill until CLUSTER NODES shows another live master for the shard, ms. */
  promotedMs: number;
  /** From the kill until the killed node is back, as an in-sync replica, ms. */
  replicaBackMs: number;
}

/** Live masters and their first slot, as a live node sees them. */
async function masters(cluster: RedisClusterProcess): Promise<Map<number, number>> {
  for (const server of cluster.servers) {
    if (server.pid === undefined) continue;
    const text = await rawCommand(server.port, 'CLUSTER NODES').catch(() => '');
    if (!text.startsWith('$')) continue;
    const out = new Map<number, number>();
    for (const line of text.split(/\r?\n/).slice(1)) {
      const [, address, flags, , , , , , first] = line.split(' ');
      if (!address || !flags || !first || /fail/.test(flags) || !flags.includes('master')) continue;
      out.set(Number(address.split('@')[0]!.split(':')[1]), Number(first.split('-')[0]));
    }
    return out;
  }
  return new Map();
}

/** Polls `check` every 50 ms for at most `ms`; whether it came true. */
async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(50);
  }
  return false;
}

/** The soak's Redis Cluster and its failover schedule. */
export class Failovers {
  private constructor(private readonly cluster: RedisClusterProcess) {}

  static async start(nodeTimeoutMs: number): Promise<Failovers> {
    return new Failovers(await startRedisCluster(3, { replicas: 1, nodeTimeoutMs }));
  }

  /** Seed addresses for `--redis-cluster`. */
  get seeds(): string[] {
    return this.cluster.nodes;
  }

  /** Kills one master every `everyMs` until `endAt`, shards in turn (by their first slot). */
  async run(everyMs: number, endAt: number): Promise<FailoverRecord[]> {
    const records: FailoverRecord[] = [];
    const shards = [...(await masters(this.cluster)).values()].sort((a, b) => a - b);
    for (let turn = 0; turn < 1000; turn++) {
      const next = Date.now() + everyMs;
      if (next + everyMs / 2 > endAt) break; // leave time to settle before the end
      await sleep(next - Date.now());
      const slot = shards[turn % shards.length]!;
      const live = await masters(this.cluster);
      const victim = [...live].find(([, first]) => first === slot)?.[0];
      const server = this.cluster.servers.find((s) => s.port === victim);
      if (!server) continue;
      const killedAt = Date.now();
      await server.kill();
      await until(async () => {
        const now = await masters(this.cluster);
        return [...now].some(([port, first]) => first === slot && port !== victim);
      }, 120_000);
      const promotedMs = Date.now() - killedAt;
      await server.restart({ keepClusterConfig: true });
      await until(async () => {
        const info = await rawCommand(server.port, 'INFO replication');
        return info.includes('role:slave') && info.includes('master_link_status:up');
      }, 120_000);
      records.push({ killedPort: server.port, promotedMs, replicaBackMs: Date.now() - killedAt });
      process.stderr.write(`soak: failover ${JSON.stringify(records.at(-1))}\n`);
    }
    return records;
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
  }
}
