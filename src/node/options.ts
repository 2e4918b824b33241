import type { RoomPolicy } from '../hub/index.js';
import type { ParseLimits } from '../protocol/index.js';
import type { SessionLimits } from '../session/index.js';
import type { Archive } from '../store/types.js';
import type { AlertOptions } from './alerts.js';
import type { NodeHooks } from './hooks.js';
import type { JoinLimits } from './join-limits.js';
import type { BlockedWordsAction } from './moderation.js';

/** The engine's options; the server fills them from the validated config. */
export interface NodeOptions extends SessionLimits {
  /** This node's id, unique in a cluster. */
  nodeId: string;
  /** Interval between server pings on a quiet connection, ms; a peer silent for two is dropped. */
  heartbeatMs: number;
  /** A connection must authenticate within this many ms; null when auth is not required. */
  authTimeoutMs: number | null;
  /** Anonymous connections may publish. */
  allowAnonymousPublish: boolean;
  /** Most rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Joins over time per connection and per client IP; absent: not bounded over time. */
  joinLimits?: JoinLimits;
  /** Most messages a `joined` reply carries back. */
  maxHistory: number;
  /** Messages a second a client is sampled to when it declares no budget on join; 0: no limit. */
  renderBudget: number;
  /** How often online counts are shared and `presence` messages sent, ms. */
  presenceIntervalMs: number;
  /** The delivery policy of a room name. */
  policyFor(room: string): RoomPolicy;
  /** The largest client frame the gateway reads, bytes; announced in `welcome` when set. */
  maxFrameBytes?: number;
  /** Bounds of the client frame parser. */
  parseLimits: ParseLimits;
  /** The embedding application's hooks. */
  hooks: NodeHooks;
  /** Words the keyword filter refuses or masks in client messages (see moderation.ts). */
  blockedWords?: readonly string[];
  /** What the keyword filter does: refuse with `forbidden` (default) or mask with `*`. */
  blockedWordsAction?: BlockedWordsAction;
  /** The durable store of timeline and stored rooms (issue 12); absent: nothing is stored. */
  archive?: Archive;
  /** The alert inbox of the store and its per-user cap (issue 13); absent: no stored pushes. */
  alerts?: AlertOptions;
}
