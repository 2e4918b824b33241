/** Options of the group Security (schema.ts): who may connect, publish and call the API, and how they prove it. */
import type { OptionSpec } from '../option-spec.js';

export const SECURITY_OPTIONS = {
  trustProxy: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Reverse proxies trusted to name the client, as CIDRs (10.0.0.0/8,::1): from them X-Forwarded-For (else Forwarded) is read, the rightmost hop outside the list being the client, for per-IP caps, the keyless API loopback check and logs; headers from other peers are ignored. Empty: off',
  },
  origins: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Allowed browser Origins (WebSocket, SSE, and cross-origin reads of timeline segments and DPlayer GET), comma-separated; * allows any. Same-origin pages are always allowed; with none set, localhost origins are too',
  },
  apiKey: {
    type: 'string',
    default: '',
    secret: true,
    group: 'Security',
    help: 'Bearer key for the HTTP API; without one the API answers loopback callers only',
  },
  apiHosts: {
    type: 'list',
    default: ['localhost', '127.0.0.1', '[::1]'],
    group: 'Security',
    help: 'Host names the HTTP API answers when no API key is set, comma-separated (DNS-rebinding defence; 127.x.x.x addresses always pass)',
  },
  jwtSecret: {
    type: 'string',
    default: '',
    secret: true,
    group: 'Security',
    help: 'HS256 secret for client tokens',
  },
  jwtPublicKey: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'PEM file of an RSA (RS256) or EC P-256 (ES256) public key for client tokens',
  },
  jwksUrl: {
    type: 'string',
    default: '',
    group: 'Security',
    help: "An identity provider's JWKS URL (RS256/ES256 keys by kid): fetched on first use, again after 10 min or on an unknown kid (a key rotation), at most once per --jwks-cooldown-ms",
  },
  jwksCooldownMs: {
    type: 'int',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    group: 'Security',
    help: 'Least time between two JWKS fetches, whatever their outcome: tokens with unknown kids, or traffic while the provider is down, cost it one request per cooldown, ms',
  },
  jwtAudience: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'Required token audience (aud), if set',
  },
  jwtIssuer: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'Required token issuer (iss), if set',
  },
  allowAnonymousPublish: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Let unauthenticated connections publish (implied, with a warning, when no JWT secret or key is set)',
  },
  requireAuth: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Connections must authenticate within --auth-timeout-ms (close 4002) before joining',
  },
  authTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 100,
    max: 600_000,
    group: 'Security',
    help: 'Time a connection has to authenticate when auth is required, ms',
  },
  blockedWords: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Keyword filter: words refused or masked in client messages, comma-separated, matched case-insensitively anywhere in a string (docs/moderation.md)',
  },
  blockedWordsAction: {
    type: 'enum',
    default: 'reject',
    values: ['reject', 'mask'],
    group: 'Security',
    help: 'What the keyword filter does: reject (refuse the message with forbidden) or mask (replace each match with *)',
  },
  metricsPublic: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Serve /metrics without the API key',
  },
} as const satisfies Record<string, OptionSpec>;
