import type { Context, Hono } from 'hono';
import { type Node, ReplyError, viaStore } from '../../node/index.js';
import { enforce, roomAllowed } from '../../node/permissions.js';
import { MAX_MEDIA_TIME_MS, roomNameProblem } from '../../protocol/index.js';
import { type Archive, SEGMENT_MAX_AGE_S } from '../../store/types.js';
import type { RouteShape } from '../allow.js';
import { readSegment } from './segment-body.js';
import { commentJson, jsonText } from './stored-json.js';

/** How the timeline endpoints are set up (from the config). */
export interface TimelineOptions {
  /** Length of a viewer segment, ms. */
  segmentMs: number;
  /** Most comments per second of media time in a segment (paid and system kept). */
  density: number;
}

/** What the `/api/rooms/*` wildcards below really answer (for the Allow header, allow.ts). */
export const TIMELINE_SHAPES: readonly RouteShape[] = [
  { method: 'GET', wildcard: '/api/rooms/*', paths: ['/api/rooms/:room{.+}/timeline'] },
  { method: 'DELETE', wildcard: '/api/rooms/*', paths: ['/api/rooms/:room{.+}/timeline/:id'] },
];

/** Largest page of `GET /api/rooms/:room/timeline`. */
export const MAX_TIMELINE_LIMIT = 1000;

/**
 * The timeline endpoints (docs/timeline.md): the full read for backends, the cached viewer
 * segments, and deletion. Every answer is bounded: a page holds at most 1000 comments, a segment
 * at most `density` a second (plus paid and system ones).
 */
export function timelineRoutes(app: Hono, node: Node, options: TimelineOptions): void {
  // Wildcards with the path split here, not `:room{.+}/timeline`: Hono's router lets the rooms
  // route's regex win over such patterns (room names may hold `/`).
  app.get('/api/rooms/*', async (c, next) => {
    const parts = splitPath(c.req.path, '/api/rooms/');
    if (parts.length < 2 || parts[parts.length - 1] !== 'timeline') return next();
    const room = timelineRoom(node, parts.slice(0, -1).join('/'));
    const from = queryInt(c, 'from', 0, MAX_MEDIA_TIME_MS, 0);
    const to = queryInt(c, 'to', 0, MAX_MEDIA_TIME_MS + 1, MAX_MEDIA_TIME_MS + 1);
    if (to <= from) throw new ReplyError('bad_request', '"to" must be greater than "from"');
    const limit = queryInt(c, 'limit', 1, MAX_TIMELINE_LIMIT, 500);
    const after = cursor(c.req.query('after'));
    const rows = await storeCall(node, () =>
      archiveOf(node).store.timeline({ room, from, to, limit, after }),
    );
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    const nextPage = last ? JSON.stringify(`${last.t}:${last.id}`) : 'null';
    const comments = rows.map(commentJson).join(',');
    return jsonText(
      `{"room":${JSON.stringify(room)},"from":${from},"to":${to},"comments":[${comments}],"next":${nextPage}}`,
    );
  });

  app.delete('/api/rooms/*', async (c, next) => {
    const parts = splitPath(c.req.path, '/api/rooms/');
    if (parts.length < 3 || parts[parts.length - 2] !== 'timeline') return next();
    const room = storedRoom(node, parts.slice(0, -2).join('/'));
    const id = parts[parts.length - 1]!;
    if (id.length > 200) throw new ReplyError('bad_request', '"id" is too long');
    const archive = archiveOf(node);
    const removed = await storeCall(node, () => archive.store.remove(room, id));
    // Its media time is unknown here, so every cached segment of the room goes.
    if (removed) archive.segments.removedFrom(room);
    if (!removed) throw new ReplyError('not_found', `no comment ${id} in ${room}`);
    return c.json({ room, id, deleted: true });
  });

  app.get('/timeline/*', async (c) => {
    const parts = splitPath(c.req.path, '/timeline/');
    if (parts.length < 2) throw new ReplyError('bad_request', 'use /timeline/ROOM/SEGMENT');
    const room = timelineRoom(node, parts.slice(0, -1).join('/'));
    const text = parts[parts.length - 1]!;
    const segment = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
    const count = Math.ceil((MAX_MEDIA_TIME_MS + 1) / options.segmentMs);
    if (!(segment < count)) {
      throw new ReplyError('bad_request', `segment must be an integer from 0 to ${count - 1}`);
    }
    const anonymous = await authorizeViewer(node, c, room);
    const archive = archiveOf(node);
    // The body is the same for every reader allowed in (checked above), so it is cached per node.
    const { body, etag } = await archive.segments.get(room, segment, () =>
      storeCall(node, () =>
        readSegment(archive.store, {
          room,
          segment,
          segmentMs: options.segmentMs,
          density: options.density,
        }),
      ),
    );
    // Anonymous-readable segments may be shared by a CDN; token-gated ones only by the browser.
    const cache = `${anonymous ? 'public' : 'private'}, max-age=${SEGMENT_MAX_AGE_S}, stale-while-revalidate=60`;
    const headers = { ETag: etag, 'Cache-Control': cache, Vary: 'Authorization' };
    if (c.req.header('if-none-match') === etag) return new Response(null, { status: 304, headers });
    const type = 'application/json; charset=UTF-8';
    return new Response(body, { status: 200, headers: { ...headers, 'content-type': type } });
  });
}

/** The decoded path segments after `prefix`. */
export function splitPath(path: string, prefix: string): string[] {
  return path
    .slice(prefix.length)
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new ReplyError('bad_request', 'malformed percent-encoding in the path');
      }
    });
}

/** The node's archive, or `unavailable` when the server runs without a store. */
export function archiveOf(node: Node): Archive {
  const archive = node.options.archive;
  if (!archive) throw new ReplyError('unavailable', 'no store configured (--store none)');
  return archive;
}

/** A valid room name that the store keeps as a timeline. */
function timelineRoom(node: Node, room: string): string {
  const problem = roomNameProblem(room);
  if (problem) throw new ReplyError('bad_request', problem);
  if (archiveOf(node).keeping(room) !== 'timeline') {
    throw new ReplyError('bad_request', `${room} is not a timeline room (see --timeline-rooms)`);
  }
  return room;
}

/** A valid room name that the store keeps (timeline or stored chat). */
export function storedRoom(node: Node, room: string): string {
  const problem = roomNameProblem(room);
  if (problem) throw new ReplyError('bad_request', problem);
  if (archiveOf(node).keeping(room) === null) {
    throw new ReplyError(
      'bad_request',
      `${room} is not stored (see --timeline-rooms, --stored-rooms)`,
    );
  }
  return room;
}

/** An integer query parameter in [min, max], or its default; `bad_request` naming it otherwise. */
export function queryInt(
  c: Context,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const text = c.req.query(name);
  if (text === undefined) return fallback;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new ReplyError('bad_request', `"${name}" must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** The `after` cursor of a timeline page (`T:ID`, as the previous page's `next`). */
function cursor(text: string | undefined): { t: number; id: string } | undefined {
  if (text === undefined) return undefined;
  const at = text.indexOf(':');
  const t = Number(text.slice(0, at));
  if (at < 1 || !Number.isSafeInteger(t) || t < 0 || text.length > 300) {
    throw new ReplyError('bad_request', '"after" must be the "next" of the previous page');
  }
  return { t, id: text.slice(at + 1) };
}

/**
 * Checks that the caller may join the room, as a WebSocket join would be checked: a token
 * (Bearer header or `?token=`) through the authenticate hook, the identity's join patterns,
 * bans and the authorizeJoin hook. Resolves true when the caller is anonymous.
 */
export async function authorizeViewer(node: Node, c: Context, room: string): Promise<boolean> {
  const header = c.req.header('authorization');
  const token = header?.startsWith('Bearer ') ? header.slice(7) : c.req.query('token');
  const info = { connId: 'http', ip: '', identity: null };
  if (!token) {
    if (node.options.authTimeoutMs !== null) {
      throw new ReplyError('unauthorized', 'a token is required (Bearer header or ?token=)');
    }
    await enforce(node.options.hooks.authorizeJoin, info, room, 'read');
    return true;
  }
  const identity = await node.authenticate(token, info);
  if (!identity) throw new ReplyError('unauthorized', 'invalid token');
  if (!roomAllowed(identity.joinRooms, room)) {
    throw new ReplyError('forbidden', `not allowed to read ${room}`);
  }
  await node.moderation.checkJoin(identity.userId, room);
  await enforce(node.options.hooks.authorizeJoin, { ...info, identity }, room, 'read');
  return false;
}

/**
 * Runs a store call for a request: a failure answers `unavailable` with a stable message and the
 * detail goes to the node's log (node/store-errors.ts).
 */
export function storeCall<T>(node: Node, call: () => Promise<T>): Promise<T> {
  return viaStore(node.log, call);
}
