import { parseFlags, UsageError } from './args.js';

/** `barrage push --help`. */
export const PUSH_HELP = `Usage: barrage push [flags]

Calls a running server's HTTP API and prints its JSON answer.

  --url <url>          server base URL [default: http://127.0.0.1:8080] (BARRAGE_URL)
  --api-key <key>      API key (BARRAGE_API_KEY)
  --room <room>        publish to a room             (POST /api/publish)
  --user <userId>      push to every connection of a user (POST /api/push; needs --event)
  --broadcast          push to every connection      (POST /api/broadcast; needs --event)
  --event <name>       event name of a push
  --data <json>        the payload, JSON [default: null]
  --persist            with --user: store the push as an alert first (docs/alerts.md)
  --ttl-ms <ms>        with --persist: the alert expires that long after it is stored
  --collapse-key <k>   with --persist: replaces the user's unread alert with this key
  --id <key>           with --persist: idempotency key (the same id within 24 h stores nothing new)
  -h, --help           this help

Examples:
  barrage push --room live:lobby --data '{"text":"hello"}'
  barrage push --user alice --event alert --data '{"level":"high"}'
  barrage push --user alice --event alert --data '{"level":"high"}' --persist --ttl-ms 60000 --id disk-1
`;

/** Sends one publish, push or broadcast; resolves with the exit code (1 on an HTTP error). */
export async function push(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    url: { type: 'string' },
    'api-key': { type: 'string' },
    room: { type: 'string' },
    user: { type: 'string' },
    broadcast: { type: 'boolean' },
    event: { type: 'string' },
    data: { type: 'string' },
    persist: { type: 'boolean' },
    'ttl-ms': { type: 'string' },
    'collapse-key': { type: 'string' },
    id: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(PUSH_HELP);
    return 0;
  }
  const base = String(v.url ?? process.env.BARRAGE_URL ?? 'http://127.0.0.1:8080').replace(
    /\/$/,
    '',
  );
  const key = (v['api-key'] as string | undefined) ?? process.env.BARRAGE_API_KEY;
  let data: unknown = null;
  if (typeof v.data === 'string') {
    try {
      data = JSON.parse(v.data);
    } catch {
      throw new UsageError('--data must be JSON (quote strings: --data \'"hi"\')');
    }
  }
  const targets = [v.room !== undefined, v.user !== undefined, v.broadcast === true].filter(
    Boolean,
  ).length;
  if (targets !== 1) throw new UsageError('give exactly one of --room, --user and --broadcast');
  if ((v.user !== undefined || v.broadcast) && typeof v.event !== 'string')
    throw new UsageError('--event is required with --user and --broadcast');
  const stored = storedPushFields(v);
  if (stored && v.user === undefined) throw new UsageError('--persist is only for --user');
  const [path, body] =
    v.room !== undefined
      ? ['/api/publish', { room: v.room, data }]
      : v.user !== undefined
        ? ['/api/push', { userId: v.user, event: v.event, data, ...stored }]
        : ['/api/broadcast', { event: v.event, data }];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  process.stdout.write(`${await res.text()}\n`);
  return res.ok ? 0 : 1;
}

/** The stored-push fields of `--persist` and its companions; null without `--persist`. */
function storedPushFields(v: Record<string, unknown>): Record<string, unknown> | null {
  const companions = ['ttl-ms', 'collapse-key', 'id'].filter((f) => v[f] !== undefined);
  if (v.persist !== true) {
    if (companions.length > 0) throw new UsageError(`--${companions[0]} needs --persist`);
    return null;
  }
  const fields: Record<string, unknown> = { persist: true };
  if (v['ttl-ms'] !== undefined) {
    const ttlMs = Number(v['ttl-ms']);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
      throw new UsageError('--ttl-ms must be a positive integer (ms)');
    fields.ttlMs = ttlMs;
  }
  if (v['collapse-key'] !== undefined) fields.collapseKey = v['collapse-key'];
  if (v.id !== undefined) fields.id = v.id;
  return fields;
}
