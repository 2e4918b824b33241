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
