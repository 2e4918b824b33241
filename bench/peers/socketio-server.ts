/**
 * Peer for comparison: a Socket.IO 4 chat server as a typical Node developer writes it.
 * Events: `join(room)` -> socket.join(room) and `joined(room)`; `publish({room, data})` ->
 * io.to(room).emit('message', {room, data, ts}). A connection's handshake `auth.user` names its
 * user (room `user:<id>`), which `POST /api/push {userId,event,data}` targets. WebSocket transport
 * only (the load generator does not poll). Usage: node socketio-server.js --port 8080
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

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

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  cors: { origin: '*' },
});

async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/healthz') return reply(200, { ok: true });
  if (req.method === 'POST' && (req.url === '/api/publish' || req.url === '/api/push')) {
    try {
      const body = JSON.parse(await readBody(req));
      if (req.url === '/api/publish') {
        io.to(body.room).emit('message', { room: body.room, data: body.data, ts: Date.now() });
        return reply(200, { delivered: io.sockets.adapter.rooms.get(body.room)?.size ?? 0 });
      }
      const room = `user:${body.userId}`;
      io.to(room).emit('push', { event: body.event, data: body.data, ts: Date.now() });
      return reply(200, { delivered: io.sockets.adapter.rooms.get(room)?.size ?? 0 });
    } catch {
      return reply(400, { error: 'bad request' });
    }
  }
  reply(404, { error: 'not found' });
}

// Socket.IO answers its own path; every other request is ours.
httpServer.on('request', (req, res) => {
  if (req.url?.startsWith('/socket.io/')) return;
  handleHttp(req, res).catch(() => res.destroy());
});

io.on('connection', (socket) => {
  const user = (socket.handshake.auth as { user?: unknown }).user;
  if (typeof user === 'string') socket.join(`user:${user}`);
  socket.on('join', (room: unknown) => {
    if (typeof room !== 'string') return;
    socket.join(room);
    socket.emit('joined', room);
  });
  socket.on('publish', (msg: { room?: unknown; data?: unknown }) => {
    if (typeof msg?.room !== 'string') return;
    io.to(msg.room).emit('message', { room: msg.room, data: msg.data, ts: Date.now() });
  });
});

httpServer.listen(Number(values.port), values.host, () => {
  const addr = httpServer.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : values.port}\n`);
});
process.on('SIGTERM', () => {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
