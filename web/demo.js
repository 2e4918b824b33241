// Barrage demo page: a live stage with danmaku, built only on the SDK (served at /sdk/) and the
// public wire contract. Plain ES module, no build step.
//
// Query parameters: ?room=live:music  ?token=JWT (signs in: the bell shows that user's alerts)
//   ?cap=300 (most comments on screen)
//   ?budget=30 (ask the server for at most ~30 comments a second: it samples fairly and says
//   how many it left out; paid and system comments always come)
import { createClient, isBarrageError } from '/sdk/index.js';
import { mountBell } from '/web/bell.js';
import { DanmakuStage } from '/web/danmaku.js';

const COLORS = ['#ffffff', '#ff5252', '#ffd740', '#69f0ae', '#40c4ff', '#ff80ab', '#b388ff'];
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const token = params.get('token') || undefined;
const budget = Number(params.get('budget')) || undefined;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  room: /** @type {HTMLInputElement} */ ($('room')),
  status: $('status'),
  online: $('online'),
  form: /** @type {HTMLFormElement} */ ($('post')),
  text: /** @type {HTMLInputElement} */ ($('text')),
  colors: $('colors'),
  flood: /** @type {HTMLButtonElement} */ ($('flood')),
  floodRate: /** @type {HTMLSelectElement} */ ($('flood-rate')),
  floodStatus: $('flood-status'),
  hide: /** @type {HTMLInputElement} */ ($('hide')),
  toast: $('toast'),
  danmaku: $('danmaku'),
};

const stage = new DanmakuStage(ui.danmaku, { maxOnScreen: Number(params.get('cap')) || 300 });
const state = {
  room: params.get('room') || 'live:lobby',
  color: COLORS[0],
  /** @type {any} the current room's subscription */
  sub: null,
  /** ids of comments this page sent, to outline them when they come back */
  mine: new Set(),
  longTasks: 0,
  reconnects: 0,
  recentTimes: [],
};

const client = createClient(wsUrl, { token, backoff: { initialMs: 300, maxMs: 5000 } });
// The signed-in user's alerts (with ?token=): a bell with the unread count.
const bell = mountBell(
  client,
  {
    bell: /** @type {HTMLButtonElement} */ ($('bell')),
    count: $('bell-count'),
    panel: $('bell-panel'),
    list: $('bell-list'),
  },
  (text) => toast(text),
);
// For tests and curious developers: the page's moving parts.
window.barrageDemo = { client, stage, state, bell };

client.on('state', (s) => {
  ui.status.textContent = s;
  ui.status.dataset.state = s;
});
client.on('open', ({ reconnected }) => {
  if (reconnected) state.reconnects++;
});
client.on('close', ({ code, willReconnect, delayMs }) => {
  if (willReconnect)
    toast(`connection lost (${code}); retrying in ${(delayMs / 1000).toFixed(1)} s`);
  else toast(`disconnected (${code})`, true);
});
client.on('error', (err) => toast(`${err.code}: ${err.message}`, true));

/** Joins `room` (leaving the previous one) and wires its messages to the stage. */
async function switchRoom(room) {
  const previous = state.sub;
  state.sub = null;
  stage.clear();
  if (previous) previous.leave().catch(() => {});
  state.room = room;
  ui.room.value = room;
  const query = new URLSearchParams(location.search);
  query.set('room', room);
  history.replaceState(null, '', `?${query}`);
  try {
    const sub = await client.join(room, { history: 20, budget });
    if (state.room !== room) return; // switched again meanwhile
    state.sub = sub;
    setOnline(sub.online);
    sub.on('presence', setOnline);
    sub.on('message', onMessage);
    sub.on('rejoin', ({ recovered }) => {
      if (!recovered) toast('some comments were missed while offline (history lost)');
    });
    sub.on('end', (err) => {
      if (err) toast(`left ${room}: ${err.code}`, true);
    });
  } catch (err) {
    toast(`cannot join ${room}: ${describe(err)}`, true);
  }
}

/** @param {{data: unknown, ts: number, priority?: string}} m */
function onMessage(m) {
  state.recentTimes.push(performance.now());
  const d = /** @type {any} */ (m.data);
  const text = typeof d === 'object' && d !== null ? String(d.text ?? '') : String(d);
  if (!text) return;
  const mine = typeof d?.id === 'string' && state.mine.delete(d.id);
  const color = typeof d?.color === 'string' && /^#[0-9a-f]{6}$/i.test(d.color) ? d.color : '#fff';
  stage.add({ text: text.slice(0, 100), color, mine, priority: m.priority });
}

function setOnline(n) {
  ui.online.textContent = String(n);
}

ui.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = ui.text.value.trim();
  if (!text) return;
  const id = Math.random().toString(36).slice(2, 10);
  state.mine.add(id);
  ui.text.value = '';
  try {
    await client.publish(state.room, { text, color: state.color, id });
  } catch (err) {
    state.mine.delete(id);
    ui.text.value = text;
    toast(`not sent: ${describe(err)}`, true);
  }
});

ui.room.addEventListener('change', () => {
  const room = ui.room.value.trim();
  if (room && room !== state.room) switchRoom(room);
});

ui.hide.addEventListener('change', () => ui.danmaku.classList.toggle('hidden', ui.hide.checked));

for (const color of COLORS) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'swatch';
  b.style.background = color;
  b.setAttribute('role', 'radio');
  b.setAttribute('aria-label', color);
  b.setAttribute('aria-checked', String(color === state.color));
  b.addEventListener('click', () => {
    state.color = color;
    for (const s of ui.colors.children) s.setAttribute('aria-checked', String(s === b));
  });
  ui.colors.appendChild(b);
}

// ---- flood: a burst from a few extra connections, each within the server's publish limit
// (10/s, burst 20 by default); at 1000/s they go over it and the page counts `rate_limited`.
ui.flood.addEventListener('click', () => flood(Number(ui.floodRate.value), 5000));

const WORDS = ['666', 'wow', 'lol', 'nice!', 'GG', 'first', '233333', 'so good', 'hype', 'kusa'];

/** Publishes about `rate` comments per second for `ms` from extra connections. */
async function flood(rate, ms) {
  ui.flood.disabled = true;
  const bots = Math.min(40, Math.max(1, Math.ceil(rate / 5)));
  const perBot = rate / bots;
  const counts = { ok: 0, limited: 0, failed: 0, paid: 0, paidRefused: 0 };
  const show = () => {
    const paid = counts.paidRefused
      ? `, paid refused (${counts.paidRefused}: the HTTP API needs its key)`
      : `, ${counts.paid} paid`;
    ui.floodStatus.textContent = `flood: ${counts.ok} sent, ${counts.limited} rate_limited, ${counts.failed} failed${paid}`;
  };
  const clients = Array.from({ length: bots }, () =>
    createClient(wsUrl, { token, reconnect: false, requestTimeoutMs: 5000 }),
  );
  const room = state.room;
  const until = performance.now() + ms;
  let n = 0;
  const timers = clients.map((c, i) =>
    setInterval(
      () => {
        if (performance.now() > until) return;
        const text = `${WORDS[n % WORDS.length]} #${++n}`;
        const color = COLORS[(n + i) % COLORS.length];
        c.publish(room, { text, color }).then(
          () => counts.ok++,
          (err) =>
            isBarrageError(err) && err.code === 'rate_limited' ? counts.limited++ : counts.failed++,
        );
      },
      Math.max(1, 1000 / perBot),
    ),
  );
  // Two paid comments a second through the backend API (the dev default answers loopback callers
  // without a key): under the flood they are never sampled out, and the stage highlights them.
  const paidTimer = setInterval(() => {
    if (performance.now() > until) return;
    fetch('/api/publish', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        room,
        priority: 'paid',
        data: { text: `★ super chat #${counts.paid + 1}`, color: '#ffd166' },
      }),
    }).then(
      (res) => (res.ok ? counts.paid++ : counts.paidRefused++),
      () => counts.paidRefused++,
    );
  }, 500);
  const ticker = setInterval(show, 250);
  await new Promise((r) => setTimeout(r, ms + 300));
  for (const t of timers) clearInterval(t);
  clearInterval(paidTimer);
  clearInterval(ticker);
  show();
  for (const c of clients) c.close();
  ui.flood.disabled = false;
}

// ---- HUD
try {
  new PerformanceObserver((list) => {
    state.longTasks += list.getEntries().length;
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // long task timing is a Chromium feature; other browsers just show 0
}

setInterval(() => {
  const now = performance.now();
  state.recentTimes = state.recentTimes.filter((t) => now - t < 1000);
  const s = stage.stats;
  $('s-fps').textContent = String(s.fps);
  $('s-screen').textContent = String(s.onScreen);
  $('s-rate').textContent = String(state.recentTimes.length);
  $('s-received').textContent = String(s.received);
  $('s-shown').textContent = String(s.shown);
  $('s-sampled').textContent = String(s.sampled);
  $('s-work').textContent = `${s.workMs} / ${s.workMaxMs}`;
  $('s-long').textContent = String(state.longTasks);
  $('s-reconnects').textContent = String(state.reconnects);
  $('s-skipped').textContent = String(state.sub?.skipped ?? 0);
}, 500);

let toastTimer = 0;
/** Shows a short notice under the stage. */
function toast(text, isError = false) {
  ui.toast.textContent = text;
  ui.toast.classList.toggle('error', isError);
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    ui.toast.hidden = true;
  }, 4000);
}

function describe(err) {
  if (isBarrageError(err)) {
    return err.code === 'rate_limited' ? 'rate limited, slow down' : `${err.code} (${err.message})`;
  }
  return String(err);
}

switchRoom(state.room);
