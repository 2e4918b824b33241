/**
 * Embedding Barrage as a library (docs/embedding.md walks through it).
 *
 *   npx tsx examples/embed.ts           # start, run a short self-check against itself, stop, exit 0
 *   npx tsx examples/embed.ts --serve   # start and keep serving until Ctrl-C (SIGINT) or SIGTERM
 *
 * In an application that installed the package, import from 'barrage' instead of the source path.
 */
import WebSocket from 'ws';
import {
  type ConnectionInfo,
  createServer,
  type Identity,
  type PublishContext,
  type PublishDecision,
} from '../src/server/index.js';

/** The application's own tokens (a real one would look them up in its session store). */
const TOKENS: Record<string, Identity> = {
  'alice-token': { userId: 'alice', publishRooms: ['live:*', 'chat:*'] },
  'mod-token': { userId: 'mod' },
};

const BANNED = /\b(darn|heck)\b/gi;

/** Word filter: masks banned words in `{ text }` payloads, refuses over-long comments. */
function filterComment({ data, connection }: PublishContext): PublishDecision {
  if (connection === null) return undefined; // HTTP API publishes are trusted
  if (
    typeof data !== 'object' ||
    data === null ||
    typeof (data as { text?: unknown }).text !== 'string'
  ) {
    return { reject: { code: 'bad_request', message: 'a comment is {"text": "..."}' } };
  }
  const text = (data as { text: string }).text;
  if (text.length > 200)
    return { reject: { code: 'too_large', message: 'at most 200 characters' } };
  return { data: { ...data, text: text.replace(BANNED, (w) => '*'.repeat(w.length)) } };
}

const server = await createServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 0), // 0 picks a free port
  logLevel: 'warn',
  roomPolicies: ['live:*=50/lossy', 'chat:*=0/reliable'],
  hooks: {
    authenticate: (token: string) => TOKENS[token] ?? null,
    authorizeJoin: (c: ConnectionInfo, room: string) =>
      !room.startsWith('staff:') || c.identity?.userId === 'mod',
    authorizePublish: (c: ConnectionInfo, room: string) =>
      room.startsWith('live:') || room.startsWith('chat:')
        ? true
        : {
            code: 'forbidden',
            message: `${c.identity?.userId ?? 'anonymous'} may not post to ${room}`,
          },
    onPublish: filterComment,
    onDisconnect: (c: ConnectionInfo, code: number) => {
      console.log(`disconnected ${c.connId} (${c.identity?.userId ?? 'anonymous'}) code ${code}`);
    },
    // Runs after the API key check (here: no key, so loopback callers only). Broadcasts are refused.
    authorizeApi: (req) => req.path !== '/api/broadcast',
  },
});
await server.listen();
const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
console.log(`barrage listening on ${server.url} (WebSocket ${wsUrl})`);

let stopping: Promise<void> | null = null;
function stop(code: number): Promise<void> {
  stopping ??= server.close().then(() => {
    console.log('stopped');
    process.exitCode = code;
  });
  return stopping;
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

if (!process.argv.includes('--serve')) {
  try {
    await selfCheck();
    await stop(0);
  } catch (err) {
    console.error('self-check failed:', (err as Error).message);
    await stop(1);
  }
}

/** Connects as alice, joins a room, posts a comment, receives a push; prints what arrives. */
async function selfCheck(): Promise<void> {
  const ws = new WebSocket(wsUrl);
  const lines: Record<string, unknown>[] = [];
  ws.on('message', (frame) => {
    for (const line of String(frame).split('\n')) {
      lines.push(JSON.parse(line));
      console.log('  <-', line);
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const send = (command: object) => {
    console.log('  ->', JSON.stringify(command));
    ws.send(JSON.stringify(command));
  };
  const reply = (id: number, ms = 2000) => waitFor(() => lines.find((l) => l.id === id), ms);

  send({ type: 'auth', id: 1, token: 'alice-token', events: ['alert'] });
  await reply(1);
  send({ type: 'join', id: 2, room: 'live:lobby', history: 10 });
  await reply(2);
  send({ type: 'join', id: 3, room: 'staff:ops' });
  await reply(3);
  send({ type: 'publish', id: 4, room: 'live:lobby', data: { text: 'what the heck' } });
  // The `ok` and alice's own `message` come in either order (docs/protocol.md, section 3):
  // match the message by the offset the `ok` names, never by position.
  const ok = await reply(4);
  await waitFor(() => lines.find((l) => l.type === 'message' && l.offset === ok.offset), 2000);

  const post = async (path: string, body: object) => {
    const res = await fetch(server.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    console.log(`  POST ${path} -> ${res.status} ${await res.text()}`);
  };
  await post('/api/push', { userId: 'alice', event: 'alert', data: { level: 'high' } });
  await waitFor(() => lines.find((l) => l.type === 'push'), 2000);
  await post('/api/broadcast', { event: 'alert', data: 'everyone' });
  // The engine is also callable in-process, without HTTP (same hooks, same delivery path).
  const { offset } = await server.node.publish('live:lobby', { text: 'from the app' }, null);
  await waitFor(() => lines.find((l) => l.type === 'message' && l.offset === offset), 2000);

  ws.close(1000, 'bye');
  await new Promise((resolve) => ws.once('close', resolve));
}

/** Polls until `pick` returns something, for at most `ms`. */
async function waitFor<T>(pick: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = pick();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`nothing arrived within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
