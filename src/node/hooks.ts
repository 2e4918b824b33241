import type { ErrorCode } from '../protocol/index.js';
import type { Identity } from '../session/index.js';

/** What a connection looks like to a hook. */
export interface ConnectionInfo {
  /** The connection id on this node. */
  connId: string;
  /** The peer's IP address. */
  ip: string;
  /** The authenticated identity, or null when anonymous. */
  identity: Identity | null;
}

/** A hook's decision: allow (`true`), refuse with `forbidden` (`false`), or refuse with a code. */
export type Decision = boolean | { code: ErrorCode; message: string };

/** What a publish hook sees: the room, the parsed payload, and who sent it. */
export interface PublishContext {
  room: string;
  data: unknown;
  /** The publishing connection, or null for the HTTP API. */
  connection: ConnectionInfo | null;
}

/**
 * A publish hook's answer: nothing to let the message through unchanged, `{ data }` to replace
 * the payload (e.g. a word filter), or `{ reject }` to refuse it with a code.
 */
export type PublishDecision =
  | undefined
  | { data: unknown }
  | { reject: { code: ErrorCode; message: string } };

/** Typed points where an embedding application decides. Every hook may be async. */
export interface NodeHooks {
  /**
   * Turns a token into an identity, or null when it is refused. The server composes this from
   * the JWT options; a library user may supply their own (the seed push service's AuthToken).
   */
  authenticate?(
    token: string,
    connection: ConnectionInfo,
  ): Identity | null | Promise<Identity | null>;
  /** May this connection join the room? Runs after the token's own room claims. */
  authorizeJoin?(connection: ConnectionInfo, room: string): Decision | Promise<Decision>;
  /** May this connection publish to the room? Runs after the token's own publish claims. */
  authorizePublish?(connection: ConnectionInfo, room: string): Decision | Promise<Decision>;
  /** Transforms or rejects a message before it is published (client and API publishes). */
  onPublish?(context: PublishContext): PublishDecision | Promise<PublishDecision>;
  /** Told when a connection ends (for the application's own bookkeeping). */
  onDisconnect?(connection: ConnectionInfo, code: number): void;
}
