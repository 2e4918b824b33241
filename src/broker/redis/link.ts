/**
 * The Redis connections of one broker, standalone, Sentinel or Cluster, behind one small surface.
 *
 * Why ioredis rather than node-redis: one client covers the three modes we need. ioredis 5 has
 * Redis Cluster support with slot routing of EVALSHA by key, and since 5.x sharded pub/sub in
 * Cluster mode (`shardedSubscribers: true`: one subscriber connection per master, SSUBSCRIBE routed
 * by the channel's slot, `smessageBuffer` events, resubscription after topology changes). It
 * follows a Sentinel-managed primary through failovers (`sentinels`, `failoverDetector`). It also
 * gives buffer replies (`messageBuffer`, `callBuffer`) so payloads never become JS strings.
 *
 * Failure policy: no offline queue and no retry of a command in flight (`enableOfflineQueue:
 * false`, `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`) plus a command
 * timeout, so a command fails fast while Redis is away and is never sent twice. Connections
 * themselves reconnect forever with a capped backoff. Commands issued in one tick are sent as one
 * pipeline (`enableAutoPipelining`): about +30% publish throughput in our measurement.
 *
 * Ended connections: ioredis gives up on a connection for good in one Sentinel failover race; the
 * link connects such a connection again for as long as it is open (revive.ts).
 *
 * Dead connections: a peer that vanished without a RST (a black hole, a host gone) leaves the TCP
 * connection open. The heartbeat PINGs every connection; one that leaves `DEAD_AFTER` PINGs in a
 * row unanswered is dropped and reconnected. TCP keepalive (`keepAlive`) covers idle sockets too.
 */
import { ClusterLink } from './cluster-link.js';
import type { LinkEvents, LinkOptions, RedisLink } from './link-base.js';
import { StandaloneLink } from './standalone-link.js';

export {
  causeOf,
  type LinkEvents,
  type LinkOptions,
  LinkRefused,
  LinkTimeout,
  type RedisLink,
} from './link-base.js';

/** Creates the link for the configured mode (nothing connects before `connect`). */
export function createLink(o: LinkOptions, events: LinkEvents): RedisLink {
  return o.cluster ? new ClusterLink(o, o.cluster, events) : new StandaloneLink(o, events);
}
