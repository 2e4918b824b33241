import type { Priority } from '../protocol/index.js';

/**
 * Who is behind a connection once it authenticated. Declared here because a session carries it;
 * `auth/` produces it and `node/` reads it.
 */
export interface Identity {
  /** The user id (a JWT's `sub`). One user may hold many connections. */
  userId: string;
  /** Room patterns the user may join (`*` wildcards); absent means any room. */
  joinRooms?: readonly string[];
  /** Room patterns the user may publish to; absent means any room. */
  publishRooms?: readonly string[];
  /** The highest message class the user may publish with (a JWT's `priority` claim). @default normal */
  maxPriority?: Priority;
  /** When the credential expires, ms since the epoch; the connection is closed with 4501 then. */
  expiresAt?: number;
  /** Extra claims for hooks; never logged. */
  claims?: Readonly<Record<string, unknown>>;
}

/**
 * A refused token whose reason the client may read (it expired, is not yet valid, or the server
 * verifies no tokens at all). An `authenticate` hook throws it to say why; a hook that resolves
 * null refuses with a plain `invalid token`. The reason reaches the client, never a secret.
 */
export class TokenRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRefused';
  }
}
