/**
 * The wire dialects the load generator speaks: Barrage (PROTOCOL.md), the plain `ws` hub peer
 * (the same JSON shapes, one object per frame) and Socket.IO 4 spoken raw over its WebSocket
 * transport (Engine.IO v4 packets: `0` open, `40` connect, `42[...]` event, `2`/`3` ping/pong).
 * Speaking Socket.IO raw keeps the client's cost the same for every target, so a slower peer is
 * the server's doing, not socket.io-client's.
 */

/**
 * The kinds of server the bench can drive. `barrage-sse` is Barrage with its receivers on
 * Server-Sent Events (GET /sse) instead of WebSocket; its publishers still use WebSocket.
 * `c-epoll` (bench/peers/c-epoll-server.c) speaks the ws hub's protocol.
 */
export type TargetKind = 'barrage' | 'barrage-sse' | 'ws-hub' | 'socketio' | 'c-epoll';

/** How one kind of server is spoken to. */
export interface Dialect {
  /** Path and query of the WebSocket endpoint. */
  readonly wsPath: string;
  /** True when the transport needs its own handshake (`40` for Socket.IO) before requests. */
  readonly handshake: boolean;
  /** The frame that completes the transport handshake, with optional auth fields. */
  connectFrame(auth: Record<string, string> | null): string;
  /** Whether a frame completes the handshake. */
  isConnected(frame: string): boolean;
  /** The frame that authenticates a connection (token for Barrage, user id for peers). */
  authFrame(token: string, user: string): string;
  /** Whether a frame is the positive answer to the auth request. */
  isAuthed(frame: string): boolean;
  /** The frame that joins a room. */
  joinFrame(room: string, id: number): string;
  /** Whether a frame holds a join confirmation; returns how many (merged frames hold several). */
  countJoined(frame: string): number;
  /** The frame that publishes `dataJson` (JSON text) to a room; `id` tags errors with the room. */
  publishFrame(room: string, dataJson: string, id: number): string;
  /** The answer to a heartbeat from the server, or null when the frame is not one. */
  pongFor(frame: string): string | null;
  /** Whether a frame is an error reply; the room index (request id) when it has one. */
  errorIds(frame: string): number[];
}

const json = JSON.stringify;

function countOf(text: string, needle: string): number {
  let n = 0;
  let i = text.indexOf(needle);
  while (i >= 0 && n < 1_000_000) {
    n++;
    i = text.indexOf(needle, i + needle.length);
  }
  return n;
}

function errorIdsIn(frame: string, marker: string): number[] {
  if (!frame.includes(marker)) return [];
  const ids: number[] = [];
  for (const line of frame.split('\n')) {
    if (!line.includes(marker)) continue;
    const m = /"id":(\d+)/.exec(line);
    ids.push(m ? Number(m[1]) : -1);
  }
  return ids;
}

const barrage: Dialect = {
  wsPath: '/ws',
  handshake: false,
  connectFrame: () => '',
  isConnected: () => true,
  authFrame: (token) => `{"type":"auth","id":"a","token":${json(token)}}`,
  isAuthed: (frame) => frame.includes('"type":"ok"') && frame.includes('"id":"a"'),
  joinFrame: (room, id) => `{"type":"join","id":${id},"room":${json(room)}}`,
  countJoined: (frame) => countOf(frame, '"type":"joined"'),
  publishFrame: (room, dataJson, id) =>
    `{"type":"publish","id":${id},"room":${json(room)},"data":${dataJson}}`,
  pongFor: (frame) => (frame.includes('"type":"ping"') ? '{"type":"pong"}' : null),
  errorIds: (frame) => errorIdsIn(frame, '"type":"error"'),
};

const wsHub: Dialect = {
  wsPath: '/ws',
  handshake: false,
  connectFrame: () => '',
  isConnected: () => true,
  authFrame: (_token, user) => `{"type":"auth","user":${json(user)}}`,
  isAuthed: (frame) => frame.includes('"type":"ok"'),
  joinFrame: (room) => `{"type":"join","room":${json(room)}}`,
  countJoined: (frame) => countOf(frame, '"type":"joined"'),
  publishFrame: (room, dataJson) => `{"type":"publish","room":${json(room)},"data":${dataJson}}`,
  pongFor: () => null,
  errorIds: (frame) => errorIdsIn(frame, '"type":"error"'),
};

const socketio: Dialect = {
  wsPath: '/socket.io/?EIO=4&transport=websocket',
  handshake: true,
  connectFrame: (auth) => (auth === null ? '40' : `40${json(auth)}`),
  isConnected: (frame) => frame.startsWith('40'),
  authFrame: () => '',
  isAuthed: () => true,
  joinFrame: (room) => `42["join",${json(room)}]`,
  countJoined: (frame) => (frame.startsWith('42["joined"') ? 1 : 0),
  publishFrame: (room, dataJson) => `42["publish",{"room":${json(room)},"data":${dataJson}}]`,
  pongFor: (frame) => (frame === '2' ? '3' : null),
  errorIds: (frame) => (frame.startsWith('44') ? [-1] : []),
};

/** The dialect of a target kind. */
export function dialectOf(kind: TargetKind): Dialect {
  if (kind === 'barrage' || kind === 'barrage-sse') return barrage;
  if (kind === 'ws-hub' || kind === 'c-epoll') return wsHub;
  return socketio;
}
