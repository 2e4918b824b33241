import type { Context, Hono } from 'hono';
import type { Logger } from '../../log.js';
import { type Node, ReplyError } from '../../node/index.js';
import { connectionInfo, enforce, roomAllowed } from '../../node/permissions.js';
import { MAX_MEDIA_TIME_MS } from '../../protocol/index.js';
import { jsonObject } from '../body.js';
import { refusalOf, STATUS_OF } from '../errors.js';
import { archiveOf, authorizeViewer, storeCall } from './timeline.js';

/** Most comments one DPlayer read returns. */
export const DPLAYER_MAX = 10_000;
/** Longest comment text accepted from DPlayer, characters. */
const MAX_TEXT = 500;
const TYPES = ['right', 'top', 'bottom'] as const;
const WHITE = 0xffffff;

/**
 * A DPlayer-compatible danmaku API (docs/timeline.md): point a DPlayer's `apiBackend`/`api` at
 * `https://barrage.example/dplayer/` and video `VIDEO`'s comments live in room `vod:VIDEO`.
 * `GET /dplayer/v3/?id=VIDEO&max=N` → `{"code":0,"data":[[time_s, type, color, author, text]]}`;
 * `POST /dplayer/v3/ {id, author, time, text, color, type, token?}` publishes at `time`.
 * DPlayer renders text with innerHTML, so text and author are HTML-escaped here. Errors answer
 * `{"code":1,"msg"}` with the HTTP status of the error, as DPlayer shows `msg`.
 */
export function dplayerRoutes(app: Hono, node: Node, log: Logger): void {
  for (const path of ['/dplayer/v3', '/dplayer/v3/']) {
    app.get(path, (c) => answer(c, node, log, () => read(node, c)));
    app.post(path, (c) => answer(c, node, log, () => post(node, c)));
  }
}

async function read(node: Node, c: Context): Promise<unknown> {
  const room = videoRoom(node, c.req.query('id'));
  const maxText = c.req.query('max');
  const max = maxText === undefined ? 1000 : Number(maxText);
  if (!Number.isInteger(max) || max < 1 || max > DPLAYER_MAX) {
    throw new ReplyError('bad_request', `"max" must be an integer from 1 to ${DPLAYER_MAX}`);
  }
  await authorizeViewer(node, c, room);
  const store = archiveOf(node).store;
  const data: unknown[] = [];
  let after: { t: number; id: string } | undefined;
  while (data.length < max) {
    const limit = Math.min(1000, max - data.length);
    const rows = await storeCall(node, () =>
      store.timeline({ room, from: 0, to: MAX_MEDIA_TIME_MS + 1, limit, after }),
    );
    for (const m of rows) {
      const d = parse(m.data);
      const author = typeof d.author === 'string' ? d.author : (m.from ?? 'guest');
      data.push([
        m.t! / 1000,
        typeIndex(d.type),
        colorOf(d.color),
        escapeHtml(author),
        escapeHtml(typeof d.text === 'string' ? d.text : ''),
      ]);
    }
    if (rows.length < limit) break;
    const last = rows[rows.length - 1]!;
    after = { t: last.t!, id: last.id };
  }
  return data;
}

async function post(node: Node, c: Context): Promise<unknown> {
  const body = await jsonObject(c);
  const room = videoRoom(node, body.id);
  const time = body.time;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
    throw new ReplyError('bad_request', '"time" must be a media time in seconds');
  }
  const t = Math.round(time * 1000);
  if (t > MAX_MEDIA_TIME_MS) throw new ReplyError('bad_request', '"time" is beyond 48 hours');
  const text = body.text;
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) {
    throw new ReplyError('bad_request', `"text" must be 1 to ${MAX_TEXT} characters`);
  }
  const token = typeof body.token === 'string' && body.token ? body.token : undefined;
  const identity = token ? await node.authenticate(token, connectionInfo('http', '', null)) : null;
  if (token && !identity) throw new ReplyError('unauthorized', 'invalid token');
  if (!identity && !node.options.allowAnonymousPublish) {
    throw new ReplyError('unauthorized', 'a token is required to send danmaku');
  }
  if (!roomAllowed(identity?.publishRooms, room)) {
    throw new ReplyError('forbidden', `not allowed to publish to ${room}`);
  }
  const info = connectionInfo('http', '', identity);
  await enforce(node.options.hooks.authorizePublish, info, room, 'publish to');
  const userId = identity?.userId ?? null;
  const verdict = await node.moderation.checkPublish(userId, room);
  const data = node.moderation.filter({
    text,
    color: colorOf(body.color),
    type: TYPES[typeIndex(body.type)],
    ...(typeof body.author === 'string' ? { author: body.author.slice(0, 64) } : {}),
  });
  const shadow = verdict === 'shadow';
  const { offset, epoch } = await node.publish(room, data, info, 'normal', { t, shadow });
  return { id: `${epoch}.${offset}` };
}

/**
 * Answers DPlayer's way. A refusal keeps its code and HTTP status; anything else is a bug: logged
 * with the request id (the error and the request line, never the body or a token) as the API's
 * error handler does, counted in the node's error replies (`barrage_errors_total{code="internal"}`)
 * and answered 500.
 */
async function answer(
  c: Context,
  node: Node,
  log: Logger,
  run: () => Promise<unknown>,
): Promise<Response> {
  try {
    return c.json({ code: 0, data: await run() });
  } catch (err) {
    const request = { requestId: c.get('requestId'), method: c.req.method, path: c.req.path };
    const { code, message } = refusalOf(err, log, request);
    if (code === 'internal')
      node.counters.errors.internal = (node.counters.errors.internal ?? 0) + 1;
    return c.json({ code: 1, msg: message, error: { code, message } }, STATUS_OF[code]);
  }
}

/** `vod:VIDEO` for a DPlayer video id. */
function videoRoom(node: Node, id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_\-.@]{1,100}$/.test(id)) {
    throw new ReplyError(
      'bad_request',
      '"id" must be 1-100 characters of letters, digits, _ - . @',
    );
  }
  const room = `vod:${id}`;
  if (archiveOf(node).keeping(room) !== 'timeline') {
    throw new ReplyError('bad_request', `${room} is not a timeline room (see --timeline-rooms)`);
  }
  return room;
}

function parse(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    if (typeof value === 'string') return { text: value };
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** DPlayer's type: 0 right (scrolling), 1 top, 2 bottom; names or numbers accepted. */
function typeIndex(type: unknown): number {
  if (typeof type === 'number' && (type === 0 || type === 1 || type === 2)) return type;
  const i = TYPES.indexOf(type as (typeof TYPES)[number]);
  return i < 0 ? 0 : i;
}

/** A 24-bit RGB colour from a number or `#rrggbb`; white otherwise. */
function colorOf(color: unknown): number {
  if (typeof color === 'number' && Number.isInteger(color) && color >= 0 && color <= WHITE) {
    return color;
  }
  if (typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) {
    return Number.parseInt(color.slice(1), 16);
  }
  return WHITE;
}

const HTML: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Whether a character is a control character other than tab and newline. */
function isControl(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return (code < 0x20 && ch !== '\t' && ch !== '\n') || code === 0x7f;
}

/** Escapes text for innerHTML, and drops control characters other than tab and newline. */
export function escapeHtml(text: string): string {
  let out = '';
  for (const ch of text) if (!isControl(ch)) out += HTML[ch] ?? ch;
  return out;
}
