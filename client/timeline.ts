import { Emitter } from './emitter.js';
import type { PublishOptions } from './options.js';
import type { Subscription } from './subscription.js';
import type { Priority, RoomMessage } from './types.js';

/** One comment on the media timeline. */
export interface TimelineComment<T = unknown> {
  /** Unique in the room (`EPOCH.OFFSET`). */
  id: string;
  /** Media time, ms. */
  t: number;
  data: T;
  from: string | null;
  ts: number;
  priority?: Priority;
}

/** What a timeline uses of its client (a `BarrageClient`). */
export interface TimelineHost {
  readonly url: string;
  readonly userId: string | null;
  join(room: string): Promise<Subscription>;
  publish(room: string, data: unknown, options?: PublishOptions): Promise<number>;
  leave(room: string): Promise<void>;
}

/** Options of `BarrageClient.timeline`. */
export interface TimelineOptions {
  /** The server's HTTP origin for segment reads. @default the client's URL, as http(s), without /ws */
  baseUrl?: string;
  /** A JWT for segment reads where anonymous viewers may not read (sent as Bearer). */
  token?: string;
  /** The server's `timelineSegmentMs`. @default 360000 */
  segmentMs?: number;
  /** Load the next segment when the playhead is this close to its start, ms. @default 30000 */
  prefetchMs?: number;
  /** How often the playhead is checked for due comments, ms. @default 50 */
  tickMs?: number;
  /** `fetch` to use. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Events of a {@link Timeline}. */
export interface TimelineEvents {
  /** A comment whose media time the playhead just reached (or one posted here, at once). */
  comment: TimelineComment;
  /** A segment was loaded (its index). */
  segment: number;
  /** A segment could not be loaded. */
  error: Error;
}

/**
 * A player's view of a timeline room (docs/timeline.md): it loads viewer segments around the
 * playhead, emits each comment when the playhead reaches its media time (play, pause, seek and
 * speed as the player reports them), merges comments others publish live while watching, and
 * publishes at the current playhead. Drive it from the video element's events:
 * `play()`, `pause()`, `seek(ms)`, `setRate(r)`, or `sync(ms)` on `timeupdate`.
 */
export class Timeline extends Emitter<TimelineEvents> {
  /** Comments known per segment index, sorted by `t` then id. */
  private readonly segments = new Map<number, TimelineComment[]>();
  private readonly loading = new Map<number, Promise<void>>();
  private readonly seen = new Set<string>();
  private sub: Subscription | null = null;
  private offLive: (() => void) | null = null;
  private playing = false;
  private rate = 1;
  /** Playhead at `anchorWall` (performance.now()), ms of media time. */
  private anchorMs = 0;
  private anchorWall = 0;
  /** Comments with t <= this were emitted (or skipped by a seek). */
  private emittedTo = -1;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly segmentMs: number;
  private readonly base: string;

  constructor(
    private readonly client: TimelineHost,
    readonly room: string,
    private readonly options: TimelineOptions = {},
  ) {
    super();
    this.segmentMs = options.segmentMs ?? 360_000;
    this.base = (options.baseUrl ?? httpBase(client.url)).replace(/\/$/, '');
  }

  /** Joins the room for live comments and loads the segment at the playhead. */
  async start(): Promise<void> {
    this.sub = await this.client.join(this.room);
    this.offLive = this.sub.on('message', (m) => this.live(m));
    await this.ensure(this.position());
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 50);
  }

  /** The playhead, ms of media time. */
  position(): number {
    if (!this.playing) return this.anchorMs;
    return this.anchorMs + (now() - this.anchorWall) * this.rate;
  }

  /** The player started (or resumed) playing. */
  play(): void {
    if (this.playing) return;
    this.anchorWall = now();
    this.playing = true;
  }

  /** The player paused. */
  pause(): void {
    if (!this.playing) return;
    this.anchorMs = this.position();
    this.playing = false;
  }

  /** The player jumped to `ms`: comments between are skipped; segments there are loaded. */
  seek(ms: number): void {
    this.anchorMs = Math.max(0, ms);
    this.anchorWall = now();
    this.emittedTo = this.anchorMs - 1;
    void this.ensure(this.anchorMs);
  }

  /** The player's speed changed (1 = normal). */
  setRate(rate: number): void {
    this.anchorMs = this.position();
    this.anchorWall = now();
    this.rate = rate;
  }

  /** Re-anchors to the player's own clock (call on `timeupdate`); a jump over 1 s is a seek. */
  sync(ms: number): void {
    if (Math.abs(ms - this.position()) > 1000) this.seek(ms);
    else {
      this.anchorMs = ms;
      this.anchorWall = now();
    }
  }

  /** Publishes `data` at the current playhead; it is shown here at once. */
  async publish(data: unknown, options: { priority?: Priority } = {}): Promise<TimelineComment> {
    const t = Math.round(this.position());
    const offset = await this.client.publish(this.room, data, { ...options, t });
    const comment: TimelineComment = {
      id: `${this.sub?.epoch ?? ''}.${offset}`,
      t,
      data,
      from: this.client.userId,
      ts: Date.now(),
      ...(options.priority && options.priority !== 'normal' ? { priority: options.priority } : {}),
    };
    if (this.add(comment)) this.emit('comment', comment);
    return comment;
  }

  /** Comments known now in [from, to), in media-time order (for a seek bar's density view). */
  known(from = 0, to = Number.MAX_SAFE_INTEGER): TimelineComment[] {
    const out: TimelineComment[] = [];
    for (const list of this.segments.values())
      for (const c of list) if (c.t >= from && c.t < to) out.push(c);
    return out.sort(byTime);
  }

  /** Stops: leaves the room and the clock. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.offLive?.();
    await this.client.leave(this.room).catch(() => {});
  }

  private tick(): void {
    const pos = this.position();
    void this.ensure(pos);
    if (pos <= this.emittedTo) return;
    const from = this.emittedTo;
    this.emittedTo = pos;
    for (let s = Math.max(0, Math.floor(from / this.segmentMs)); s <= this.index(pos); s++) {
      for (const c of this.segments.get(s) ?? [])
        if (c.t > from && c.t <= pos) this.emit('comment', c);
    }
  }

  private index(ms: number): number {
    return Math.floor(Math.max(0, ms) / this.segmentMs);
  }

  /** Loads the segment at `ms`, and the next one when the playhead is near it. */
  private async ensure(ms: number): Promise<void> {
    const i = this.index(ms);
    const wanted = [i];
    if ((i + 1) * this.segmentMs - ms < (this.options.prefetchMs ?? 30_000)) wanted.push(i + 1);
    await Promise.all(wanted.map((s) => this.load(s)));
  }

  private load(segment: number): Promise<void> {
    if (this.segments.has(segment)) return Promise.resolve();
    let loading = this.loading.get(segment);
    if (!loading) {
      loading = this.fetchSegment(segment).finally(() => this.loading.delete(segment));
      this.loading.set(segment, loading);
    }
    return loading;
  }

  private async fetchSegment(segment: number): Promise<void> {
    const doFetch = this.options.fetch ?? globalThis.fetch;
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const url = `${this.base}/timeline/${encodeURIComponent(this.room)}/${segment}`;
    try {
      const res = await doFetch(url, { headers });
      if (!res.ok) throw new Error(`segment ${segment}: HTTP ${res.status}`);
      const body = (await res.json()) as { comments: TimelineComment[] };
      const list = this.segments.get(segment) ?? [];
      this.segments.set(segment, list);
      for (const c of body.comments) this.add(c);
      this.emit('segment', segment);
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A live message of the room: merged into its segment (emitted when the playhead gets there). */
  private live(m: RoomMessage): void {
    if (typeof m.t !== 'number') return;
    const comment: TimelineComment = {
      id: `${this.sub?.epoch ?? ''}.${m.offset}`,
      t: m.t,
      data: m.data,
      from: m.from,
      ts: m.ts,
      ...(m.priority ? { priority: m.priority } : {}),
    };
    // Another viewer's comment just behind the playhead is shown now rather than never.
    if (this.add(comment) && m.t <= this.emittedTo && this.emittedTo - m.t < 1000) {
      this.emit('comment', comment);
    }
  }

  /** Adds a comment to its segment once; false when it was known. */
  private add(c: TimelineComment): boolean {
    if (this.seen.has(c.id)) return false;
    this.seen.add(c.id);
    const i = this.index(c.t);
    const list = this.segments.get(i) ?? [];
    if (!this.segments.has(i)) this.segments.set(i, list);
    let at = list.length;
    while (at > 0 && byTime(list[at - 1]!, c) > 0) at--;
    list.splice(at, 0, c);
    return true;
  }
}

function byTime(a: TimelineComment, b: TimelineComment): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

/** `ws://host:port/ws` → `http://host:port`. */
function httpBase(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/ws\/?$/, '');
  u.search = '';
  return u.toString().replace(/\/$/, '');
}
