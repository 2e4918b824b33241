/**
 * Peer for comparison: a chat hub on plain `ws`, written the way a typical Node developer writes
 * one. Rooms are Sets of sockets; each message is JSON.stringify'd per recipient inside a
 * broadcast loop. Protocol: `{"type":"join","room"}` -> `{"type":"joined","room"}`;
 * `{"type":"publish","room","data"}` -> every member gets `{"type":"message","room","data","ts"}`;
 * `{"type":"auth","user"}` -> `{"type":"ok"}` (no token check: auth is paid once per connection,
 * not per message). HTTP: `POST /api/publish {room,data}`, `POST /api/push {userId,event,data}`,
 * `GET /healthz`. Usage: node ws-hub-server.js --port 8080 [--host 127.0.0.1]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { type WebSocket, WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const rooms = new Map<string, Set<WebSocket>>();
const users = new Map<string, Set<WebSocket>>();

function broadcast(room: string, data: unknown): number {
  const members = rooms.get(room);
  if (!members) return 0;
  for (const client of members) {
    if (client.readyState === client.OPEN) {
      client.send(JSON.stringify({ type: 'message', room, data, ts: Date.now() }));
    }
  }
  return members.size;
}

function push(userId: string, event: string, data: unknown): number {
  const sockets = users.get(userId);
  if (!sockets) return 0;
  for (const client of sockets)
    client.send(JSON.stringify({ type: 'push', event, data, ts: Date.now() }));
  return sockets.size;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/healthz') return reply(200, { ok: true });
  if (req.method === 'POST' && (req.url === '/api/publish' || req.url === '/api/push')) {
    try {
      const body = JSON.parse(await readBody(req));
      if (req.url === '/api/publish')
        return reply(200, { delivered: broadcast(body.room, body.data) });
      return reply(200, { delivered: push(body.userId, body.event, body.data) });
    } catch {
      return reply(400, { error: 'bad request' });
    }
  }
  reply(404, { error: 'not found' });
}

const server = createServer((req, res) => {
  handleHttp(req, res).catch(() => res.destroy());
});
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });

wss.on('connection', (ws) => {
  const joined = new Set<string>();
  let user: string | null = null;
  ws.on('message', (raw) => {
    let msg: { type?: string; room?: string; data?: unknown; user?: string };
    try {
      msg = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (msg.type === 'join' && typeof msg.room === 'string') {
      let set = rooms.get(msg.room);
      if (!set) {
        set = new Set();
        rooms.set(msg.room, set);
      }
      set.add(ws);
      joined.add(msg.room);
      ws.send(JSON.stringify({ type: 'joined', room: msg.room, online: set.size }));
    } else if (msg.type === 'publish' && typeof msg.room === 'string') {
      broadcast(msg.room, msg.data);
    } else if (msg.type === 'auth' && typeof msg.user === 'string') {
      user = msg.user;
      let set = users.get(user);
      if (!set) {
        set = new Set();
        users.set(user, set);
      }
      set.add(ws);
      ws.send(JSON.stringify({ type: 'ok', userId: user }));
    }
  });
  ws.on('close', () => {
    for (const room of joined) {
      const set = rooms.get(room);
      set?.delete(ws);
      if (set?.size === 0) rooms.delete(room);
    }
    if (user !== null) users.get(user)?.delete(ws);
  });
});

server.listen(Number(values.port), values.host, () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : values.port}\n`);
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
});
