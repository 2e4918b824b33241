import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { BarrageError } from '../errors.js';
import { PRIORITIES, type Priority } from '../protocol/index.js';
import { type Identity, TokenRefused } from '../session/index.js';
import { type JwksOptions, RemoteKeySet } from './jwks.js';

/** Algorithms a JWKS key may verify: each key is still bound to its own type by jose. */
const JWKS_ALGORITHMS: readonly string[] = ['RS256', 'ES256'];

/** How tokens are verified. At least one of `secret`, `publicKeyPem` and `jwks` is required. */
export interface JwtOptions {
  /** Shared secret for HS256. */
  secret?: string;
  /** PEM public key for RS256 (RSA key) or ES256 (P-256 key). */
  publicKeyPem?: string;
  /** An identity provider's rotating keys (RS256, ES256), for tokens whose alg no key above takes. */
  jwks?: JwksOptions;
  /** Required `aud`, when set. */
  audience?: string;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Clock skew tolerated on `exp` and `nbf`, seconds. @default 5 */
  clockToleranceSec?: number;
}

/**
 * Verifies a token into an identity, or resolves null when it is refused. A token that is
 * authentic but expired or not yet valid rejects with TokenRefused saying so (jose checks the
 * signature before the claims, so a forger learns nothing from it).
 */
export type TokenVerifier = (token: string) => Promise<Identity | null>;

/**
 * Builds a verifier from validated options, failing at construction on a bad key (as hono's
 * `jwt()` validates its options up front). Each key is bound to its one algorithm, so `alg: none`
 * and algorithm confusion (an HS256 token signed with the public key's bytes) are refused.
 *
 * Claims: `sub` (required) is the user id; optional `rooms` and `publish` are arrays of room
 * patterns (`*` wildcards) limiting what the user may join and publish to; optional `priority`
 * is the highest message class the user may publish with; `exp`/`nbf` are checked.
 */
export function createJwtVerifier(options: JwtOptions): TokenVerifier {
  const keys = new Map<string, KeyObject | Promise<CryptoKey>>();
  if (options.secret) keys.set('HS256', hmacKey(options.secret));
  if (options.publicKeyPem) {
    const { alg, key } = publicKeyWithAlg(options.publicKeyPem);
    keys.set(alg, key);
  }
  const remote = options.jwks ? new RemoteKeySet(options.jwks) : null;
  if (keys.size === 0 && remote === null)
    throw new BarrageError(
      'BARRAGE_ERR_CONFIG',
      'JWT verification needs a secret, a public key or a JWKS URL',
    );
  const algorithms = [...new Set([...keys.keys(), ...(remote ? JWKS_ALGORITHMS : [])])];
  const verifyOptions = {
    algorithms,
    audience: options.audience,
    issuer: options.issuer,
    clockTolerance: options.clockToleranceSec ?? 5,
  };
  return async (token) => {
    try {
      const { payload } = await jwtVerify(
        token,
        (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
          const key = keys.get(header.alg ?? '');
          if (key) return key;
          if (remote && JWKS_ALGORITHMS.includes(header.alg ?? ''))
            return remote.getKey(header, token);
          throw new joseErrors.JOSEAlgNotAllowed('algorithm not allowed');
        },
        verifyOptions,
      );
      return identityFromClaims(payload, verifyOptions.clockTolerance);
    } catch (err) {
      if (err instanceof TokenRefused) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TokenRefused('token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') {
        throw new TokenRefused('token not yet valid');
      }
      return null;
    }
  };
}

/**
 * The HS256 secret as a WebCrypto key, imported once. Given the secret's bytes, jose imports them
 * again on every verification: ~29 µs of CPU per token against ~13 µs with the key imported
 * (`npm run bench:micro -- jwt`), which a reconnect storm pays once per connection. (jose keeps
 * its own conversion of a KeyObject, so the public keys need nothing of the kind.)
 */
function hmacKey(secret: string): Promise<CryptoKey> {
  const key = globalThis.crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  // Never expected (any non-empty secret imports), but not a crash before the first token: a
  // failure rejects each verification, which refuses the token like any other bad key.
  key.catch(() => {});
  return key;
}

/** Reads a PEM public key file into options, naming the file when it cannot. */
export function readPublicKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new BarrageError('BARRAGE_ERR_JWT_KEY', `cannot read ${path}: ${(err as Error).message}`);
  }
}

function publicKeyWithAlg(pem: string): { alg: string; key: KeyObject } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new BarrageError(
      'BARRAGE_ERR_JWT_KEY',
      `not a PEM public key: ${(err as Error).message}`,
    );
  }
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', key };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { alg: 'ES256', key };
  }
  throw new BarrageError(
    'BARRAGE_ERR_JWT_KEY',
    'the public key must be RSA (RS256) or EC P-256 (ES256)',
  );
}

function identityFromClaims(payload: JWTPayload, toleranceSec: number): Identity | null {
  if (typeof payload.sub !== 'string' || payload.sub === '') return null;
  const identity: Identity = { userId: payload.sub, claims: payload };
  const rooms = stringList(payload.rooms);
  const publish = stringList(payload.publish);
  if (rooms === null || publish === null) return null;
  if (payload.priority !== undefined) {
    if (!PRIORITIES.includes(payload.priority as Priority)) return null;
    identity.maxPriority = payload.priority as Priority;
  }
  if (rooms) identity.joinRooms = rooms;
  if (publish) identity.publishRooms = publish;
  // The same tolerance that let the token in decides when the connection ends.
  if (typeof payload.exp === 'number') identity.expiresAt = (payload.exp + toleranceSec) * 1000;
  return identity;
}

/** An optional list of strings: undefined when absent, null when malformed. */
function stringList(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return null;
  return value as string[];
}
