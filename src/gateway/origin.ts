/**
 * Builds the Origin check that stops cross-site WebSocket hijacking. Allowed: requests without an
 * Origin (non-browser clients), the server's own origin (Origin host equals the Host header), and
 * the allowlist; with an empty allowlist, also any http(s) origin on localhost. `*` allows all.
 */
export function createOriginCheck(
  allowlist: readonly string[],
): (origin: string | undefined, host: string | undefined) => boolean {
  const allowAll = allowlist.includes('*');
  const allowed = new Set(allowlist.map(normalizeOrigin));
  const allowLocalhost = allowlist.length === 0;
  return (origin, host) => {
    if (origin === undefined || allowAll) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (host !== undefined && url.host === host.toLowerCase()) return true;
    if (allowed.has(url.origin)) return true;
    return allowLocalhost && LOCAL_HOSTNAMES.has(url.hostname);
  };
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
