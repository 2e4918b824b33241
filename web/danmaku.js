// Danmaku renderer for the demo page. Plain ES module, no dependencies.
//
// - Lanes: the stage is cut into horizontal lanes; a comment enters a lane only when it cannot
//   touch the previous comment of that lane (it has fully entered, and a faster newcomer cannot
//   catch up with it before it leaves the screen).
// - Speed by length: every comment crosses the stage in the same time, so longer comments move
//   faster (the classic danmaku look).
// - Cost: comments are positioned only with `transform: translate3d` from one
//   requestAnimationFrame loop; widths come from canvas `measureText` (no layout reads), and
//   elements are pooled. So the main thread does O(on-screen) cheap style writes per frame.
// - Flood: at most `maxOnScreen` comments fly at once and at most `maxQueue` wait. A comment
//   arriving at a full queue replaces a random waiting one (the stage shows a fair sample of the
//   flood instead of only its start), and comments that waited over `maxWaitMs` are dropped.
//   Your own comments and paid/system ones ("kept") always go first and are never dropped.

const FONT = '600 22px system-ui, sans-serif';
const LANE_HEIGHT = 30;
const GAP = 24;
const PAD_TOP = 8;
const CONTROLS = 36; // keep comments off the fake player's control bar

/** A stage that flies comments across `layer` (a positioned element). */
export class DanmakuStage {
  /**
   * @param {HTMLElement} layer the element comments fly over
   * @param {{maxOnScreen?: number, maxQueue?: number, maxWaitMs?: number, crossMs?: number}} [opts]
   */
  constructor(layer, opts = {}) {
    this.layer = layer;
    this.maxOnScreen = opts.maxOnScreen ?? 300;
    this.maxQueue = opts.maxQueue ?? 150;
    this.maxWaitMs = opts.maxWaitMs ?? 1500;
    this.crossMs = opts.crossMs ?? 7000;
    /** @type {{el: HTMLElement, x: number, y: number, w: number, v: number, text: string}[]} */
    this.active = [];
    /** @type {{text: string, color: string, mine: boolean, kind: string, keep: boolean, at: number}[]} */
    this.queue = [];
    /** @type {(null | {x: number, w: number, v: number, gone: boolean})[]} the last comment per lane */
    this.lanes = [];
    /** @type {HTMLElement[]} */
    this.pool = [];
    this.width = 0;
    this.height = 0;
    // fps and the stage's own main-thread work per frame (ms), over the last second.
    this.stats = {
      received: 0,
      shown: 0,
      sampled: 0,
      onScreen: 0,
      fps: 0,
      workMs: 0,
      workMaxMs: 0,
    };
    this.work = 0;
    this.workMax = 0;
    const canvas = document.createElement('canvas');
    this.ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    this.ctx.font = FONT;
    this.widths = new Map();
    this.last = 0;
    this.frames = 0;
    this.fpsSince = 0;
    this.resize();
    new ResizeObserver(() => this.resize()).observe(layer);
    this.loop = (t) => this.tick(t);
    requestAnimationFrame(this.loop);
  }

  /** Recomputes the stage size and its lanes. */
  resize() {
    this.width = this.layer.clientWidth;
    this.height = this.layer.clientHeight;
    const count = Math.max(1, Math.floor((this.height - PAD_TOP - CONTROLS) / LANE_HEIGHT));
    if (count !== this.lanes.length) this.lanes = new Array(count).fill(null);
  }

  /**
   * Queues a comment for the stage.
   * @param {{text: string, color?: string, mine?: boolean, priority?: string}} c
   */
  add(c) {
    this.stats.received++;
    const item = {
      text: c.text,
      color: c.color || '#ffffff',
      mine: !!c.mine,
      kind: c.priority && c.priority !== 'normal' ? c.priority : '',
      keep: !!c.mine || c.priority === 'paid' || c.priority === 'system',
      at: performance.now(),
    };
    if (item.keep) {
      this.queue.unshift(item);
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.stats.sampled++;
      const i = Math.floor(Math.random() * this.queue.length);
      if (!this.queue[i].keep) this.queue[i] = item;
      return;
    }
    this.queue.push(item);
  }

  /** Removes every comment (e.g. on a room switch). */
  clear() {
    for (const a of this.active) this.recycle(a.el);
    this.active = [];
    this.queue = [];
    this.lanes.fill(null);
  }

  /** The texts flying now (for tests and screenshots). */
  texts() {
    return this.active.map((a) => a.text);
  }

  /** @param {number} now */
  tick(now) {
    const start = performance.now();
    const dt = this.last === 0 ? 0 : Math.min(now - this.last, 100) / 1000;
    this.last = now;
    this.move(dt);
    this.dropStale(now);
    this.place();
    this.stats.onScreen = this.active.length;
    this.frames++;
    const work = performance.now() - start;
    this.work += work;
    if (work > this.workMax) this.workMax = work;
    if (now - this.fpsSince >= 1000) {
      this.stats.fps = Math.round((this.frames * 1000) / (now - this.fpsSince));
      this.stats.workMs = Math.round((this.work / this.frames) * 100) / 100;
      this.stats.workMaxMs = Math.round(this.workMax * 100) / 100;
      this.frames = 0;
      this.work = 0;
      this.workMax = 0;
      this.fpsSince = now;
    }
    requestAnimationFrame(this.loop);
  }

  /** @param {number} dt seconds since the last frame */
  move(dt) {
    let keep = 0;
    for (let i = 0; i < this.active.length; i++) {
      const a = this.active[i];
      a.x -= a.v * dt;
      if (a.lane) a.lane.x = a.x;
      if (a.x + a.w < 0) {
        if (a.lane) a.lane.gone = true;
        this.recycle(a.el);
        continue;
      }
      a.el.style.transform = `translate3d(${a.x.toFixed(1)}px,${a.y}px,0)`;
      this.active[keep++] = a;
    }
    this.active.length = keep;
  }

  /** @param {number} now */
  dropStale(now) {
    const q = this.queue;
    if (q.length === 0) return;
    // Kept comments sit at the front; check the oldest other one.
    let oldest = 0;
    while (oldest < q.length && q[oldest].keep) oldest++;
    if (oldest >= q.length || now - q[oldest].at <= this.maxWaitMs) return;
    const before = q.length;
    this.queue = q.filter((c) => c.keep || now - c.at <= this.maxWaitMs);
    this.stats.sampled += before - this.queue.length;
  }

  place() {
    while (this.queue.length > 0 && this.active.length < this.maxOnScreen) {
      const c = this.queue[0];
      const w = this.measure(c.text);
      const v = ((this.width + w) * 1000) / this.crossMs;
      const lane = this.freeLane(v);
      if (lane === -1) return;
      this.queue.shift();
      const el = this.pool.pop() || document.createElement('div');
      el.className = `dm${c.mine ? ' mine' : ''}${c.kind ? ` ${c.kind}` : ''}`;
      el.textContent = c.text;
      // Paid and system comments take their colors from the stylesheet.
      el.style.color = c.kind === 'paid' || c.kind === 'system' ? '' : c.color;
      const y = PAD_TOP + lane * LANE_HEIGHT;
      const x = this.width;
      el.style.transform = `translate3d(${x}px,${y}px,0)`;
      this.layer.appendChild(el);
      const laneState = { x, w, v, gone: false };
      this.lanes[lane] = laneState;
      this.active.push({ el, x, y, w, v, text: c.text, lane: laneState });
      this.stats.shown++;
    }
  }

  /**
   * The first lane where a comment moving at `v` px/s touches nothing, or -1.
   * @param {number} v
   */
  freeLane(v) {
    for (let i = 0; i < this.lanes.length; i++) {
      const prev = this.lanes[i];
      if (prev === null || prev.gone) return i;
      const prevRight = prev.x + prev.w;
      if (prevRight + GAP > this.width) continue; // still entering
      if (v <= prev.v) return i; // slower or equal: never catches up
      const leavesIn = prevRight / prev.v;
      if (this.width - v * leavesIn >= 0) return i; // it leaves before we reach it
    }
    return -1;
  }

  /** @param {string} text */
  measure(text) {
    let w = this.widths.get(text);
    if (w === undefined) {
      w = Math.ceil(this.ctx.measureText(text).width) + 4;
      if (this.widths.size > 2000) this.widths.clear();
      this.widths.set(text, w);
    }
    return w;
  }

  /** @param {HTMLElement} el */
  recycle(el) {
    el.remove();
    if (this.pool.length < 500) this.pool.push(el);
  }
}
