// The demo page's bell: the unread alerts of the signed-in user (docs/alerts.md), built only on
// the SDK. The count starts from the inbox and follows the live lines: a new alert adds one, a
// `read` (this tab, another tab or device, or the API) and a `withdrawn` take theirs away, and
// a resync hint reloads the inbox. Opening the bell reads (acknowledges) what it lists; the
// panel keeps showing the alerts it read, marked as read.

const UNREAD_LISTED = 1000; // the server's default inbox cap: every unread alert fits
const SHOWN = 20; // alerts in the panel, newest first
const READ_KEPT = 20; // read alerts kept for the panel

/**
 * Wires the bell to a client. `ui`: the bell button, its count badge, the panel and its list.
 * @param {any} client a BarrageClient (plain-JS page: the SDK's types are not checked here)
 * @param {{bell: HTMLButtonElement, count: HTMLElement, panel: HTMLElement, list: HTMLElement}} ui
 * @param {(text: string) => void} notify shows a short notice
 */
export function mountBell(client, ui, notify) {
  /** Alerts by id, oldest first: {event, data, ts, read}. */
  const alerts = new Map();
  const bell = { alerts, reloads: 0, unread: 0 };

  const render = () => {
    let n = 0;
    for (const a of alerts.values()) if (!a.read) n++;
    bell.unread = n;
    ui.count.textContent = n > 99 ? '99+' : String(n);
    ui.count.hidden = n === 0;
    ui.bell.dataset.unread = String(n);
    ui.bell.setAttribute('aria-label', `alerts: ${n} unread`);
    if (!ui.panel.hidden) renderList();
  };

  const renderList = () => {
    ui.list.textContent = '';
    if (alerts.size === 0) {
      const li = document.createElement('li');
      li.className = 'muted small';
      li.textContent = 'No alerts';
      ui.list.appendChild(li);
      return;
    }
    for (const [id, a] of [...alerts].reverse().slice(0, SHOWN)) {
      const li = document.createElement('li');
      li.dataset.alert = id;
      li.classList.toggle('read', a.read);
      const what = document.createElement('strong');
      what.textContent = a.event;
      const text = document.createElement('span');
      text.textContent = describe(a.data);
      const when = document.createElement('time');
      when.className = 'muted small';
      when.textContent = new Date(a.ts).toLocaleTimeString();
      li.append(what, text, when);
      ui.list.appendChild(li);
    }
  };

  /** Marks alerts read, forgetting the oldest read ones past READ_KEPT. */
  const markRead = (ids) => {
    for (const id of ids) {
      const a = alerts.get(id);
      if (a) a.read = true;
    }
    const read = [...alerts].filter(([, a]) => a.read);
    for (const [id] of read.slice(0, Math.max(0, read.length - READ_KEPT))) alerts.delete(id);
    render();
  };

  /** Loads the unread alerts from the inbox; the live lines keep them current afterwards. */
  const reload = async () => {
    try {
      const inbox = await client.inbox({ unread: true, limit: UNREAD_LISTED });
      bell.reloads++;
      for (const [id, a] of alerts) if (!a.read) alerts.delete(id);
      for (const a of inbox.alerts) {
        alerts.set(a.id, { event: a.event, data: a.data, ts: a.ts, read: false });
      }
      render();
    } catch (err) {
      notify(`alerts unavailable: ${err?.code ?? err}`);
    }
  };

  client.on('alert', (a) => {
    if (alerts.has(a.id)) return;
    alerts.set(a.id, { event: a.event, data: a.data, ts: a.ts, read: false });
    render();
    notify(`alert: ${a.event}: ${describe(a.data)}`);
  });
  client.on('read', ({ alerts: ids }) => markRead(ids));
  client.on('withdrawn', ({ alerts: ids }) => {
    for (const id of ids) alerts.delete(id);
    render();
  });
  client.on('resync', () => void reload());
  client.on('open', ({ userId }) => {
    ui.bell.hidden = userId === null; // alerts are per user: none for an anonymous viewer
    if (userId !== null) void reload();
  });

  ui.bell.addEventListener('click', async () => {
    ui.panel.hidden = !ui.panel.hidden;
    if (ui.panel.hidden) return;
    renderList();
    // Opening the bell reads what it shows: every tab and device of the user clears it when
    // the server's `read` comes back (this tab too).
    const ids = [...alerts].filter(([, a]) => !a.read).map(([id]) => id);
    if (ids.length === 0) return;
    try {
      await client.ack(ids);
    } catch (err) {
      notify(`could not mark read: ${err?.code ?? err}`);
    }
  });

  render();
  return bell;
}

/** A one-line text for an alert's data: its `text` or `title` field, else its JSON. */
function describe(data) {
  if (typeof data === 'string') return data.slice(0, 120);
  if (data && typeof data === 'object') {
    const d = /** @type {Record<string, unknown>} */ (data);
    const text = d.text ?? d.title ?? d.message;
    if (typeof text === 'string') return text.slice(0, 120);
  }
  return JSON.stringify(data ?? null).slice(0, 120);
}
