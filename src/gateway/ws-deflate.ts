/**
 * permessage-deflate negotiation for compress-once (RFC 7692). The server always answers with
 * `server_no_context_takeover`, so each compressed message stands alone and one compressed frame
 * serves every socket that uses the server's full window. It also bounds the window of the
 * client's own compressor: ws keeps an inflater per socket that sent a compressed message, and a
 * full 32 KiB window for every browser (they compress what they send) would cost more memory
 * than the rest of a connection. A client whose offers do not let the server bound that window
 * is served without compression instead of being refused.
 */

/** The window (bits) of every shared compressed frame; a socket granted less gets plain frames. */
export const DEFLATE_WINDOW_BITS = 15;
/** The window (bits) the server grants a client's compressor: 1 KiB of inflater per socket. */
export const CLIENT_WINDOW_BITS = 10;

/** ws's permessage-deflate options for compress-once. */
export const DEFLATE_OPTIONS = {
  serverNoContextTakeover: true,
  // Without context takeover on the client's side too, ws clients compress only messages of 1 KiB
  // or more (ws applies its threshold only then); otherwise they compress every join and pong,
  // and the server inflates each one through ws's process-wide queue of 10 zlib jobs.
  clientNoContextTakeover: true,
  clientMaxWindowBits: CLIENT_WINDOW_BITS,
} as const;

/**
 * Whether ws would accept one of the permessage-deflate offers of a `Sec-WebSocket-Extensions`
 * request header under DEFLATE_OPTIONS: one that lets the server set `client_max_window_bits`
 * (without a value, or at least CLIENT_WINDOW_BITS). ws answers 400 when none is acceptable, so
 * the gateway drops the header for such a client and it connects uncompressed.
 */
export function hasBoundedOffer(header: string): boolean {
  return header.split(',').some((offer) => {
    const [name, ...params] = offer.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'permessage-deflate') return false;
    const bits = params.find((p) => p.split('=')[0]!.trim() === 'client_max_window_bits');
    if (bits === undefined) return false;
    const value = bits.split('=')[1]?.trim().replace(/"/g, '');
    return value === undefined || Number(value) >= CLIENT_WINDOW_BITS;
  });
}

/**
 * The window a socket's compressed frames may use, from the `Sec-WebSocket-Extensions` response
 * header ws wrote: 0 when permessage-deflate was not negotiated, else `server_max_window_bits`
 * (DEFLATE_WINDOW_BITS when absent).
 */
export function negotiatedWindowBits(responseHeader: string | undefined): number {
  if (responseHeader === undefined || !/\bpermessage-deflate\b/i.test(responseHeader)) return 0;
  const m = /server_max_window_bits\s*=\s*"?(\d+)/i.exec(responseHeader);
  return m ? Number(m[1]) : DEFLATE_WINDOW_BITS;
}
