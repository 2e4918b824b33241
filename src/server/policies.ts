import { CATCH_ALL_ROOM_POLICY, parseRoomPolicies, type RoomPolicyRule } from '../config/index.js';
import type { RoomPolicy } from '../hub/index.js';
import { compileRoomPatterns } from '../protocol/index.js';

/**
 * Builds the room-name → policy function: first matching rule wins, else the catch-all policy
 * (adaptive merging, reliable), so every room merges when it is expensive.
 */
export function policyResolver(rules: readonly RoomPolicyRule[]): (room: string) => RoomPolicy {
  const compiled = [...rules, ...parseRoomPolicies([CATCH_ALL_ROOM_POLICY])].map((rule) => ({
    test: compileRoomPatterns([rule.pattern]),
    policy: Object.freeze({
      mergeWindowMs: rule.mergeWindowMs,
      lossy: rule.lossy,
      adaptive: rule.adaptive,
    }),
  }));
  // The catch-all rule comes last and matches every name, so a match is always found.
  const catchAll = compiled[compiled.length - 1]!;
  return (room) => (compiled.find((c) => c.test(room)) ?? catchAll).policy;
}
