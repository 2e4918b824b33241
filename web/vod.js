// Barrage VOD demo: a synthetic 10-minute video (a looping canvas scene driven by the SDK's
// timeline clock) with comments shown at their media time, built only on the SDK's
// client.timeline(room). Seek, pause and change speed; post at the playhead.
import { createClient } from '/sdk/index.js';

const LENGTH_MS = 600_000;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const room = params.get('room') || 'vod:demo';
$('room').value = room;
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const client = createClient(wsUrl, { token: params.get('token') || undefined });
const timeline = client.timeline(room, { token: params.get('token') || undefined });
/** What the page showed, for tests: each comment's media time and the playhead then. */
const shown = [];
window.barrageVod = { client, timeline, shown };

client.on('state', (s) => {
  $('status').textContent = s;
  $('status').dataset.state = s;
});

const layer = $('layer');
let lane = 0;
timeline.on('comment', (c) => {
  const text = typeof c.data === 'object' && c.data ? String(c.data.text ?? '') : String(c.data);
  shown.push({ id: c.id, t: c.t, text, at: timeline.position() });
  if (shown.length > 5000) shown.splice(0, 1000);
  const el = document.createElement('span');
  el.className = `c${c.from && c.from === client.userId ? ' own' : ''}${c.priority === 'paid' ? ' paid' : ''}`;
  el.textContent = text; // never innerHTML: comments are user text
  el.style.top = `${4 + (lane++ % 12) * 8}%`;
  layer.append(el);
  const width = layer.clientWidth + el.clientWidth;
  const rate = Number($('speed').value) || 1;
  el.animate([{ transform: 'translateX(0)' }, { transform: `translateX(-${width}px)` }], {
    duration: 8000 / rate,
  }).onfinish = () => el.remove();
});

// The "video": a looping scene whose picture is a pure function of the media time.
const ctx = $('video').getContext('2d');
function draw() {
  const ms = Math.min(timeline.position(), LENGTH_MS);
  if (ms >= LENGTH_MS && $('play').textContent === 'Pause') toggle();
  const s = ms / 1000;
  const w = 960;
  const h = 540;
  const g = ctx.createLinearGradient(0, 0, 0, h);
  g.addColorStop(0, `hsl(${(s * 6) % 360} 60% 45%)`);
  g.addColorStop(1, `hsl(${(s * 6 + 60) % 360} 60% 20%)`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = 'rgba(255,255,255,.85)';
  ctx.beginPath();
  ctx.arc(w / 2 + Math.cos(s / 3) * 300, h / 2 + Math.sin(s / 2) * 150, 40, 0, Math.PI * 2);
  ctx.fill();
  ctx.font = '700 64px system-ui, sans-serif';
  ctx.fillText(fmt(ms), 32, h - 40);
  $('clock').textContent = `${fmt(ms)} / 10:00`;
  if (!seeking) $('seek').value = String(Math.round(ms));
  requestAnimationFrame(draw);
}
function fmt(ms) {
  const s = ms / 1000;
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
}

function toggle() {
  if ($('play').textContent === 'Play') {
    if (timeline.position() >= LENGTH_MS) timeline.seek(0);
    timeline.play();
    $('play').textContent = 'Pause';
  } else {
    timeline.pause();
    $('play').textContent = 'Play';
  }
}
let seeking = false;
$('play').addEventListener('click', toggle);
$('seek').addEventListener('input', () => {
  seeking = true;
});
$('seek').addEventListener('change', () => {
  seeking = false;
  timeline.seek(Number($('seek').value));
});
$('speed').addEventListener('change', () => timeline.setRate(Number($('speed').value)));
$('post').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('text').value = '';
  try {
    await timeline.publish({ text });
  } catch (err) {
    $('status').textContent = `not sent: ${err.message}`;
  }
});

await timeline.start();
requestAnimationFrame(draw);
