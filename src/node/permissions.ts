import { compileRoomPatterns } from '../protocol/index.js';
import type { Identity, Session } from '../session/index.js';
import { ReplyError } from './errors.js';
import type { ConnectionInfo, Decision } from './hooks.js';

const compiled = new WeakMap<readonly string[], (room: string) => boolean>();

/** Whether a room matches an identity's list of patterns (no list: every room matches). */
export function roomAllowed(patterns: readonly string[] | undefined, room: string): boolean {
  if (patterns === undefined) return true;
  let test = compiled.get(patterns);
  if (!test) {
    test = compileRoomPatterns(patterns);
    compiled.set(patterns, test);
  }
  return test(room);
}

/** Throws the refusal a hook decided, if it refused. */
export async function enforce(
  hook: ((c: ConnectionInfo, room: string) => Decision | Promise<Decision>) | undefined,
  connection: ConnectionInfo,
  room: string,
  action: string,
): Promise<void> {
  if (!hook) return;
  const decision = await hook(connection, room);
  if (decision === true) return;
  if (decision === false) throw new ReplyError('forbidden', `not allowed to ${action} ${room}`);
  throw new ReplyError(decision.code, decision.message);
}

/** Describes a session for hooks. */
export function connectionInfo(
  connId: string,
  ip: string,
  identity: Identity | null,
): ConnectionInfo {
  return { connId, ip, identity };
}

/** Describes a session for hooks. */
export function sessionInfo(session: Session): ConnectionInfo {
  return connectionInfo(session.id, session.ip, session.identity);
}
