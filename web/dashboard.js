// Barrage dashboard: polls GET /api/stats every second and draws live charts per node.
// Plain ES module, no build step, no dependency (see charts.js for why the charts are hand-drawn).
import { fmt, LineChart } from '/web/charts.js';

const POINTS = 120; // two minutes at one poll a second
const KEY = 'barrage.apiKey';
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const chartsEl = $('charts');
const charts = {
  connections: new LineChart(chartsEl, { id: 'connections', title: 'Connections', points: POINTS }),
  messagesIn: new LineChart(chartsEl, {
    id: 'messages-in',
    title: 'Messages in / s',
    points: POINTS,
  }),
  messagesOut: new LineChart(chartsEl, {
    id: 'messages-out',
    title: 'Messages out / s',
    points: POINTS,
  }),
  framesOut: new LineChart(chartsEl, { id: 'frames-out', title: 'Frames out / s', points: POINTS }),
  drops: new LineChart(chartsEl, { id: 'drops', title: 'Drops / s by reason', points: POINTS }),
  fanout: new LineChart(chartsEl, {
    id: 'fanout',
    title: 'Fan-out p99',
    unit: ' ms',
    points: POINTS,
  }),
  eventLoop: new LineChart(chartsEl, {
    id: 'event-loop',
    title: 'Event-loop delay p99',
    unit: ' ms',
    points: POINTS,
  }),
};

/** Per series name, the last POINTS values; per node, the previous sample for rates. */
const history = {
  connections: new Map(),
  messagesIn: new Map(),
  messagesOut: new Map(),
  framesOut: new Map(),
  drops: new Map(),
  fanout: new Map(),
  eventLoop: new Map(),
};
/** @type {Map<string, {t: number, node: any}>} */
const previous = new Map();
let polls = 0;

function push(kind, name, value) {
  let values = history[kind].get(name);
  if (!values) {
    values = [];
    history[kind].set(name, values);
  }
  values.push(Number.isFinite(value) ? Math.max(0, value) : 0);
  if (values.length > POINTS) values.shift();
}

/** Counter growth per second since the previous poll (0 after a restart resets it). */
function rate(cur, prev, seconds) {
  if (prev === undefined || seconds <= 0 || cur < prev) return 0;
  return (cur - prev) / seconds;
}

function apply(stats, t) {
  polls++;
  const nodes = Array.isArray(stats.nodes) ? stats.nodes : [];
  const seen = new Set();
  for (const node of nodes) {
    const id = String(node.nodeId);
    seen.add(id);
    const prev = previous.get(id);
    const dt = prev ? (t - prev.t) / 1000 : 0;
    const p = prev?.node;
    push('connections', id, node.connections);
    push('messagesIn', id, rate(node.messagesIn, p?.messagesIn, dt));
    push('messagesOut', id, rate(node.messagesOut, p?.messagesOut, dt));
    push('framesOut', id, rate(node.framesOut, p?.framesOut, dt));
    for (const [reason, n] of Object.entries(node.drops ?? {})) {
      push('drops', `${id} ${reason}`, rate(n, p?.drops?.[reason], dt));
    }
    push('fanout', id, node.fanoutP99Ms);
    push('eventLoop', id, node.eventLoopP99Ms);
    previous.set(id, { t, node });
  }
  // Nodes that went away keep their past but get no new points; forget them once scrolled off.
  for (const [id] of previous) if (!seen.has(id)) previous.delete(id);
  for (const kind of Object.keys(history)) {
    for (const [name, values] of history[kind]) {
      const id = kind === 'drops' ? name.split(' ')[0] : name;
      if (!seen.has(id)) {
        values.push(0);
        if (values.length > POINTS) values.shift();
        if (values.every((v) => v === 0)) history[kind].delete(name);
      }
    }
    charts[kind].draw(history[kind]);
  }
  renderTotals(stats.totals ?? {});
  renderAlerts(stats, nodes);
  renderStore(nodes);
  renderRooms(nodes);
  $('nodes-info').textContent =
    `${nodes.length} node${nodes.length === 1 ? '' : 's'} · ${new Date(t).toLocaleTimeString()}`;
  document.body.dataset.polls = String(polls);
}

function sumLast(kind) {
  let total = 0;
  for (const values of history[kind].values())
    total += values.length ? values[values.length - 1] : 0;
  return total;
}

function renderTotals(totals) {
  $('t-connections').textContent = fmt(totals.connections ?? 0);
  $('t-rooms').textContent = fmt(totals.rooms ?? 0);
  $('t-in').textContent = fmt(sumLast('messagesIn'));
  $('t-out').textContent = fmt(sumLast('messagesOut'));
  $('t-frames').textContent = fmt(sumLast('framesOut'));
}

const ALERT_COUNTERS = ['stored', 'delivered', 'acked', 'expired', 'dropped'];

/**
 * Alert counters since start (docs/alerts.md): the cluster's totals when the server gives them,
 * else the sum over nodes. Hidden while the server reports none (no store, an older server).
 */
function renderAlerts(stats, nodes) {
  let alerts = stats.totals?.alerts;
  if (!alerts) {
    const perNode = nodes.map((n) => n.alerts).filter((a) => a && typeof a === 'object');
    if (perNode.length > 0) {
      alerts = {};
      for (const a of perNode) {
        for (const k of ALERT_COUNTERS) alerts[k] = (alerts[k] ?? 0) + (Number(a[k]) || 0);
      }
    }
  }
  $('alerts').hidden = !alerts;
  if (!alerts) return;
  for (const k of ALERT_COUNTERS) $(`a-${k}`).textContent = fmt(Number(alerts[k]) || 0);
}

/**
 * The durable store's writer over the nodes (docs/storage.md): kind and health, the worst write
 * p99, the mean batch, queue depth against its limit, refusals and failed commits since start.
 * Hidden when no node runs a store.
 */
function renderStore(nodes) {
  const stores = nodes.map((n) => n.store).filter((s) => s && typeof s === 'object');
  $('store').hidden = stores.length === 0;
  if (stores.length === 0) return;
  const sum = (k) => stores.reduce((a, s) => a + (Number(s[k]) || 0), 0);
  const kinds = [...new Set(stores.map((s) => String(s.kind)))].join(', ');
  const down = stores.filter((s) => s.ok === false).length;
  $('s-kind').textContent = down > 0 ? `${kinds} (${down} down)` : kinds;
  $('store').dataset.ok = String(down === 0);
  $('s-write-p99').textContent = fmt(Math.max(...stores.map((s) => Number(s.writeP99Ms) || 0)));
  $('s-batch').textContent = fmt(sum('meanBatch') / stores.length);
  $('s-queue').textContent = `${fmt(sum('queueDepth'))} / ${fmt(sum('queueLimit'))}`;
  $('s-refused').textContent = fmt(sum('refused'));
  $('s-errors').textContent = fmt(sum('errors'));
}

/** Per-room message rates need the room's previous count on the same node. */
const roomCounts = new Map();

function renderRooms(nodes) {
  const box = $('rooms');
  box.textContent = '';
  for (const node of nodes) {
    const id = String(node.nodeId);
    const rooms = Array.isArray(node.topRooms) ? node.topRooms : [];
    const prevCounts = roomCounts.get(id);
    const counts = new Map();
    const withRate = rooms.map((r) => {
      counts.set(r.room, { n: r.messagesIn, t: Date.now() });
      const p = prevCounts?.get(r.room);
      const perSec = p ? rate(r.messagesIn, p.n, (Date.now() - p.t) / 1000) : 0;
      const drops = (r.droppedSlow ?? 0) + (r.sampledOut ?? 0);
      return { room: r.room, members: r.members, perSec, mergeRatio: r.mergeRatio ?? 1, drops };
    });
    roomCounts.set(id, counts);
    const card = document.createElement('div');
    card.className = 'node';
    const h = document.createElement('h3');
    h.textContent = `${id} · ${fmt(node.connections ?? 0)} connections · up ${Math.round((node.uptimeMs ?? 0) / 1000)} s`;
    const cols = document.createElement('div');
    cols.className = 'cols';
    cols.append(
      table(
        'by members',
        [...withRate].sort((a, b) => b.members - a.members),
        (r) => r.members,
      ),
      table(
        'by messages / s',
        [...withRate].sort((a, b) => b.perSec - a.perSec),
        (r) => r.perSec,
      ),
      table(
        'merge ratio (messages / frame)',
        [...withRate].sort((a, b) => b.mergeRatio - a.mergeRatio),
        (r) => r.mergeRatio,
      ),
      table(
        'drops (slow + sampled)',
        [...withRate].sort((a, b) => b.drops - a.drops),
        (r) => r.drops,
      ),
    );
    card.append(h, cols);
    box.appendChild(card);
  }
}

function table(title, rows, value) {
  const col = document.createElement('div');
  const h = document.createElement('h4');
  h.textContent = title;
  col.appendChild(h);
  const top = rows.slice(0, 8);
  const max = Math.max(1, ...top.map(value));
  if (top.length === 0) {
    const empty = document.createElement('div');
    empty.className = 'muted small';
    empty.textContent = 'no rooms';
    col.appendChild(empty);
  }
  for (const r of top) {
    const row = document.createElement('div');
    row.className = 'row';
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.width = `${(100 * value(r)) / max}%`;
    const name = document.createElement('span');
    name.textContent = r.room;
    const v = document.createElement('span');
    v.textContent = fmt(value(r));
    row.append(fill, name, v);
    col.appendChild(row);
  }
  return col;
}

// ---- polling, with the API key when the server wants one

const keyForm = /** @type {HTMLFormElement} */ ($('key-form'));
const keyInput = /** @type {HTMLInputElement} */ ($('key'));
const forget = $('forget');

function setPoll(state, text) {
  const el = $('poll');
  el.dataset.state = state;
  el.textContent = text;
}

async function poll() {
  const key = sessionStorage.getItem(KEY);
  forget.hidden = !key;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 3000);
  try {
    const res = await fetch('/api/stats', {
      headers: key ? { Authorization: `Bearer ${key}` } : {},
      signal: ctrl.signal,
      cache: 'no-store',
    });
    if (res.status === 401 || res.status === 403) {
      keyForm.hidden = false;
      setPoll('closed', key ? 'API key refused' : 'API key needed');
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    keyForm.hidden = true;
    apply(await res.json(), Date.now());
    setPoll('open', 'live');
  } catch (err) {
    setPoll('reconnecting', `retrying (${err instanceof Error ? err.message : err})`);
  } finally {
    clearTimeout(timer);
    setTimeout(poll, 1000);
  }
}

keyForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = keyInput.value.trim();
  if (key) sessionStorage.setItem(KEY, key);
  keyInput.value = '';
});

forget.addEventListener('click', () => sessionStorage.removeItem(KEY));

poll();
