import {
  type ClientIpResolver,
  createApiKeyCheck,
  createClientIpResolver,
  createConnectionKeyCheck,
  isLoopback,
} from '../auth/index.js';
import type { HeaderOf } from './cross-site.js';
import type { ApiRefusal } from './errors.js';

/** What an API authorization hook sees of a request. */
export interface ApiRequestInfo {
  method: string;
  path: string;
  headers: Record<string, string>;
  ip: string | undefined;
}

/** The options the guard reads (a part of ApiOptions). */
export interface GuardOptions {
  /** Bearer key for `/api/*`; null: loopback callers only. */
  apiKey: string | null;
  /** The client address of a request (trusted proxies' headers). @default the TCP peer */
  clientIp?: ClientIpResolver;
  /** Extra check of API calls after the key. */
  authorizeApi?: (request: ApiRequestInfo) => boolean | Promise<boolean>;
}

/** A request as the guard sees it, from whichever adapter serves it. */
export interface GuardedRequest {
  method: string;
  path: string;
  /** The TCP peer's address. */
  peer: string | undefined;
  /**
   * The connection it came on, when the adapter knows it: a key accepted on a connection is not
   * hashed again while the same connection sends the same `Authorization` text.
   */
  connection?: object;
  header: HeaderOf;
  /** Every header (lower-case names), for `authorizeApi`; read only when there is one. */
  headers(): Record<string, string>;
}

/**
 * The API's door (docs/http-api.md, Authentication): the Bearer key compared in constant time, or
 * without a key a loopback client; then `authorizeApi`. Resolves with the refusal (401
 * `unauthorized`, 403 `forbidden`) or null. The router's middleware and the fast path both call
 * the function this returns.
 */
export function createApiGuard(
  options: GuardOptions,
): (request: GuardedRequest) => Promise<ApiRefusal | null> {
  // A key accepted on a keep-alive connection is not hashed again while that connection sends
  // the same Authorization text; that comparison is constant-time in the remembered text
  // (src/auth/connection-key.ts), as the connection may carry other callers' requests.
  const keyCheck = options.apiKey
    ? createConnectionKeyCheck(createApiKeyCheck(options.apiKey))
    : null;
  const keyMatches = (request: GuardedRequest): boolean =>
    keyCheck ? keyCheck(request.header('authorization'), request.connection) : false;
  const clientIp = options.clientIp ?? createClientIpResolver([]);
  const authorize = options.authorizeApi;
  return async (request) => {
    const ip = clientIp(request.peer, request.header);
    if (keyCheck ? !keyMatches(request) : !isLoopback(ip)) {
      const why = keyCheck
        ? 'missing or wrong API key'
        : 'no API key configured: loopback callers only';
      return { code: 'unauthorized', message: why };
    }
    if (authorize) {
      const info = { method: request.method, path: request.path, headers: request.headers(), ip };
      if (!(await authorize(info)))
        return { code: 'forbidden', message: 'refused by authorizeApi' };
    }
    return null;
  };
}
