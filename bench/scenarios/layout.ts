/**
 * Who connects where: receivers, their rooms and users, for each scenario. Room names start with
 * `live:` so Barrage applies its danmaku policy (merge window, lossy) to them, except a hot room
 * named with --room (e.g. `r0`, which Barrage's default reliable policy covers).
 */
import { SignJWT } from 'jose';
import type { ConnSpec } from '../loadgen/clients.js';
import type { Target } from '../servers/targets.js';
import type { RunParams } from './types.js';

/** The rooms of a layout and the receivers. */
export interface Layout {
  rooms: string[];
  receivers: ConnSpec[];
  /** Push: the user ids of the receivers. */
  users: string[];
  /** Whether messages are published to rooms over WebSocket (false for idle, push, publish,
   * alerts). */
  publishes: boolean;
}

/** Alerts: the devices (connections) of each user, side by side in `receivers`. */
export const DEVICES_PER_USER = 2;

/** Signs an HS256 JWT for `user`, valid for two hours. */
export async function signToken(secret: string, user: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

/** Builds the layout of a scenario against a target (receivers spread over its nodes). */
export async function layoutOf(params: RunParams, target: Target): Promise<Layout> {
  const n = params.connections;
  const urls = target.wsUrls;
  const scenario = params.scenario === 'sweep' ? params.sweepOf : params.scenario;
  if (scenario === 'push' || scenario === 'alerts') {
    // Alerts: each user's devices are neighbours (receiver 2u and 2u+1), so that they land in
    // the same load-generator process, which can then tell the first device's arrival; the
    // first device acknowledges what it gets, as a user reading on one device does.
    const devices = scenario === 'alerts' ? DEVICES_PER_USER : 1;
    const users = Array.from({ length: Math.ceil(n / devices) }, (_, i) => `u${i}`);
    const receivers: ConnSpec[] = [];
    for (let i = 0; i < n; i++) {
      const user = users[Math.floor(i / devices)]!;
      const conn: ConnSpec = { url: urls[i % urls.length]!, rooms: [], user };
      if (target.kind === 'barrage' || target.kind === 'barrage-sse') {
        if (!target.jwtSecret) throw new Error(`${scenario} against Barrage needs --jwt-secret`);
        conn.token = await signToken(target.jwtSecret, user);
      }
      if (devices > 1 && i % devices === 0) conn.ack = true;
      receivers.push(conn);
    }
    return { rooms: [], receivers, users, publishes: false };
  }
  // publish: the many-rooms layout, its messages sent with POST /api/publish instead.
  const hot = scenario === 'hot-room' || scenario === 'cluster';
  const r = hot ? 1 : Math.max(1, Math.min(params.rooms, n));
  const prefix = scenario === 'idle' ? 'live:idle-' : 'live:r';
  const rooms = hot
    ? [params.room ?? 'live:hot']
    : Array.from({ length: r }, (_, i) => `${prefix}${i}`);
  const receivers = Array.from({ length: n }, (_, i) => ({
    url: urls[i % urls.length]!,
    rooms: [rooms[i % rooms.length]!],
  }));
  return { rooms, receivers, users: [], publishes: scenario !== 'idle' && scenario !== 'publish' };
}

/** The publishing connections (spread over the nodes, last node first so a cluster crosses). */
export async function publisherConns(params: RunParams, target: Target): Promise<ConnSpec[]> {
  const urls = target.wsUrls;
  const out: ConnSpec[] = [];
  for (let i = 0; i < Math.max(1, params.publishers); i++) {
    const conn: ConnSpec = { url: urls[(urls.length - 1 + i) % urls.length]!, rooms: [] };
    if ((target.kind === 'barrage' || target.kind === 'barrage-sse') && target.jwtSecret) {
      conn.token = await signToken(target.jwtSecret, `publisher-${i}`);
    }
    out.push(conn);
  }
  return out;
}

/**
 * push and publish, API alone: as many users (rooms) as the layout's, none of them connected or
 * joined, so a call costs the server its HTTP API work and nothing of delivery.
 */
export function absentTargets(layout: Layout, call: 'push' | 'publish'): string[] {
  return call === 'publish'
    ? layout.rooms.map((_, i) => `live:absent-${i}`)
    : layout.users.map((_, i) => `absent-u${i}`);
}
