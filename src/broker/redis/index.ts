/**
 * The Redis cluster engine: a `Broker` shared by every node on one Redis or one Redis Cluster.
 * This folder is the only place that imports ioredis.
 */
import type { Broker } from '../types.js';
import { RedisBroker } from './broker.js';
import type { RedisBrokerOptions } from './options.js';

export { RedisBroker } from './broker.js';
export type { RedisBrokerOptions } from './options.js';

/**
 * Creates a Redis broker (nothing connects before `start`). With `cluster` seeds it runs on Redis
 * Cluster with sharded pub/sub (Redis 7), otherwise on the standalone Redis at `url`.
 * Throws on invalid options.
 */
export function createRedisBroker(options: RedisBrokerOptions): Broker {
  return new RedisBroker(options);
}
