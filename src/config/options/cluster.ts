/** Options of the group Cluster (schema.ts): Redis, Redis Cluster or Sentinel between nodes, and the workers. */
import type { OptionSpec } from '../option-spec.js';

export const CLUSTER_OPTIONS = {
  redisUrl: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'Redis URL (redis://host:port/db): nodes form a cluster over it',
  },
  redisCluster: {
    type: 'list',
    default: [],
    group: 'Cluster',
    help: 'Redis Cluster seed nodes host:port,...: sharded pub/sub',
  },
  redisSentinels: {
    type: 'list',
    default: [],
    group: 'Cluster',
    help: 'Redis Sentinel addresses host:port,...: follow the primary they name (with --redis-master-name) through failovers',
  },
  redisMasterName: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'Name of the primary the Sentinels watch (sentinel monitor NAME ...)',
  },
  redisCommandTimeoutMs: {
    type: 'int',
    default: 1000,
    min: 50,
    max: 60_000,
    group: 'Cluster',
    help: 'A Redis command not answered within this is refused as unavailable (a hung or unreachable Redis), ms',
  },
  redisPrefix: {
    type: 'string',
    default: 'barrage',
    group: 'Cluster',
    help: 'Prefix of every Redis key and channel',
  },
  nodeId: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'This node id (default: host name, pid and a random suffix)',
  },
  workers: {
    type: 'string',
    default: '1',
    group: 'Cluster',
    help: 'Node processes on this machine sharing the port: a number, or auto for one per core; more than 1 needs Redis',
  },
} as const satisfies Record<string, OptionSpec>;
