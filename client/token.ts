/**
 * Reads a JWT's `exp` claim (seconds since the epoch) without verifying it: the client only needs
 * to know whether to fetch a fresh token before reconnecting. Returns ms since the epoch, or
 * undefined when the token is not a JWT or has no numeric `exp`.
 */
export function tokenExpiresAt(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const json = decodeBase64Url(parts[1]);
    const payload = JSON.parse(json) as { exp?: unknown };
    return typeof payload.exp === 'number' && Number.isFinite(payload.exp)
      ? payload.exp * 1000
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when the token's `exp` is known and falls before `now + skewMs`. */
export function tokenExpired(token: string, now: number = Date.now(), skewMs = 5_000): boolean {
  const exp = tokenExpiresAt(token);
  return exp !== undefined && exp <= now + skewMs;
}

function decodeBase64Url(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** Where a client's tokens come from: `ClientOptions.token` and `getToken`. */
interface TokenOptions {
  token?: string;
  getToken?: () => string | Promise<string>;
}

/**
 * The token a client authenticates with (docs/client.md, Authentication): the fixed one, or
 * one from `getToken`, fetched again before a connection when it has expired by its `exp` and
 * after the server refused it (close 4501).
 */
export class TokenSource {
  private token: string | undefined;
  /** Fetched just now after a refusal: used even if short-lived. */
  private fresh = false;

  constructor(private readonly options: TokenOptions) {
    this.token = options.token;
  }

  /** The token for the next `auth`, or undefined to stay anonymous. */
  get current(): string | undefined {
    return this.token;
  }

  /**
   * Before a connection: true when `getToken` must be called first (no token yet, or it has
   * expired, unless it was fetched just now). Ends the just-fetched grace.
   */
  shouldFetch(): boolean {
    const stale = this.token === undefined || (!this.fresh && tokenExpired(this.token));
    this.fresh = false;
    return this.options.getToken !== undefined && stale;
  }

  /** Calls `getToken` and keeps its token; throws what `getToken` throws. */
  async fetch(): Promise<void> {
    // Called on the options object, as before, so a `getToken` that uses `this` keeps working.
    if (this.options.getToken) this.token = await this.options.getToken();
  }

  /** After close 4501: true when `getToken` gave a token other than the refused one. */
  async renew(): Promise<boolean> {
    const old = this.token;
    let fresh: string | undefined;
    try {
      fresh = this.options.getToken ? await this.options.getToken() : undefined;
    } catch {
      fresh = undefined;
    }
    if (fresh === undefined || fresh === old) return false;
    this.token = fresh;
    this.fresh = true;
    return true;
  }
}
