import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  errors as joseErrors,
  type KeyObject,
} from 'jose';
import { BarrageError } from '../errors.js';
import { TokenRefused } from '../session/index.js';

/** Options of a remote JSON Web Key Set (an identity provider's rotating public keys). */
export interface JwksOptions {
  /** The provider's JWKS URL (`https://issuer/.well-known/jwks.json`). */
  url: string;
  /**
   * Least time between two fetches, whatever their outcome, ms. Bounds what a flood of tokens
   * with unknown `kid`s, or any traffic while the provider is down, can cost the provider: one
   * request per cooldown. @default 30000
   */
  cooldownMs?: number;
  /** Keys older than this are fetched again before use (a revoked key stops working). @default 600000 */
  maxAgeMs?: number;
  /** One fetch's time limit, ms. @default 5000 */
  timeoutMs?: number;
  /** Told when a fetch fails (the provider is down or answers garbage); never with a token. */
  onError?: (err: Error) => void;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * A provider's key set for jose's `jwtVerify`: fetched on first use, cached, fetched again when
 * it is older than `maxAgeMs` or a token names a `kid` it does not hold (a rotation). Unlike
 * jose's `createRemoteJWKSet`, whose cooldown counts from the last *successful* fetch, every
 * attempt starts the cooldown here, so a provider that is down is not asked once per token; and
 * keys past their age keep verifying while the provider cannot be reached (a stale key beats
 * refusing every user during an outage; they are replaced at the first successful fetch).
 */
export class RemoteKeySet {
  private local: LocalKeySet | null = null;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | null = null;
  /** Fetch attempts so far (successful or not). */
  fetches = 0;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: JwksOptions) {
    let url: URL | null = null;
    try {
      url = new URL(options.url);
    } catch {}
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new BarrageError(
        'BARRAGE_ERR_CONFIG',
        `jwksUrl: "${options.url}" is not an http(s) URL`,
      );
    }
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** jose's key lookup: the key for this token's header, fetching when needed and allowed. */
  readonly getKey = async (
    header: JWTHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<KeyObject | CryptoKey | Uint8Array> => {
    if (this.local === null || Date.now() - this.fetchedAt >= this.maxAgeMs) await this.refresh();
    const local = this.local;
    if (local === null) {
      throw new TokenRefused('token keys unavailable: the identity provider cannot be reached');
    }
    try {
      return await local(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      await this.refresh(); // a rotation, or a made-up kid: either way at most once a cooldown
      if (this.local === local) throw err;
      return this.local!(header, token);
    }
  };

  /** Fetches the set unless a fetch is under way (joined) or one started within the cooldown. */
  private refresh(): Promise<void> {
    if (this.pending) return this.pending;
    const now = Date.now();
    if (now - this.attemptedAt < this.cooldownMs) return Promise.resolve();
    this.attemptedAt = now;
    this.fetches++;
    this.pending = this.fetchSet()
      .then((set) => {
        this.local = set;
        this.fetchedAt = Date.now();
      })
      .catch((err: Error) => this.options.onError?.(err))
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  private async fetchSet(): Promise<LocalKeySet> {
    const res = await fetch(this.options.url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status !== 200) throw new Error(`JWKS ${this.options.url} answered ${res.status}`);
    return createLocalJWKSet((await res.json()) as JSONWebKeySet);
  }
}
