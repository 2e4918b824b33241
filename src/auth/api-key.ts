import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an `Authorization: Bearer <key>` header against the configured key in constant time:
 * both sides are hashed first, so neither the content nor the length of the key leaks through
 * timing.
 */
export function createApiKeyCheck(key: string): (authorization: string | undefined) => boolean {
  const expected = digest(key);
  return (authorization) => {
    if (!authorization?.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(authorization.slice(7).trim()), expected);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Whether an address is a loopback one (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
