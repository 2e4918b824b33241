/**
 * The close code `ws` sends when it refuses a client's frames, from the error's `code`
 * (ws keeps the number itself behind a private symbol). The `close` event reports the peer's
 * code (1006 when a hostile peer never answers), so the node counts this one instead.
 */
export function closeCodeOfWsError(err: Error & { code?: string }): number | null {
  const code = err.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return null;
  switch (code) {
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 1009;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    default:
      return 1002;
  }
}
