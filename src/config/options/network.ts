/** Options of the group Network (schema.ts): where the server listens and how it writes to the wire. */
import { MiB, type OptionSpec } from '../option-spec.js';

export const NETWORK_OPTIONS = {
  host: {
    type: 'string',
    default: '127.0.0.1',
    group: 'Network',
    help: 'Address to listen on (0.0.0.0 for every interface)',
  },
  port: {
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    group: 'Network',
    help: 'Port to listen on (0 picks a free one)',
  },
  wsCompressMinBytes: {
    type: 'int',
    default: 0,
    min: 0,
    max: 16 * MiB,
    group: 'Network',
    help: 'Outgoing WebSocket messages of at least this many bytes are compressed once and shared by every client that negotiated permessage-deflate (offered only to clients that let the server bound their window); 0: compression off. See docs/performance.md',
  },
  ssePadBytes: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65_536,
    group: 'Network',
    help: 'Bytes of comment padding an SSE stream gets when it opens and with every heartbeat, so a proxy that buffers that much whatever the headers say passes events at least once a heartbeat (docs/sse.md#proxies-that-buffer); 0: none',
  },
} as const satisfies Record<string, OptionSpec>;
