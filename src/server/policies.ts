import type { RoomPolicyRule } from '../config/index.js';
import type { RoomPolicy } from '../hub/index.js';
import { compileRoomPatterns } from '../protocol/index.js';

const DEFAULT_POLICY: RoomPolicy = Object.freeze({ mergeWindowMs: 0, lossy: false });

/** Builds the room-name → policy function: first matching rule wins, else send at once, reliably. */
export function policyResolver(rules: readonly RoomPolicyRule[]): (room: string) => RoomPolicy {
  const compiled = rules.map((rule) => ({
    test: compileRoomPatterns([rule.pattern]),
    policy: Object.freeze({
      mergeWindowMs: rule.mergeWindowMs,
      lossy: rule.lossy,
      adaptive: rule.adaptive,
    }),
  }));
  return (room) => compiled.find((c) => c.test(room))?.policy ?? DEFAULT_POLICY;
}
