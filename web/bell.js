// The demo page's bell: the unread alerts of the signed-in user (docs/alerts.md), built only on
// the SDK. The count starts from the inbox and follows the live lines: a new alert adds one, a
// `read` (this tab, another tab or device, or the API) and a `withdrawn` take theirs away, and
// a resync hint reloads the inbox. Opening the bell reads (acknowledges) what it lists.

const LISTED = 1000; // the server's default inbox cap: every unread alert fits

/**
 * Wires the bell to a client. `ui`: the bell button, its count badge, the panel and its list.
 * @param {any} client a BarrageClient (plain-JS page: the SDK's types are not checked here)
 * @param {{bell: HTMLButtonElement, count: HTMLElement, panel: HTMLElement, list: HTMLElement}} ui
 * @param {(text: string) => void} notify shows a short notice
 */
export function mountBell(client, ui, notify) {
  /** Unread alerts by id, oldest first: {event, data, ts}. */
  const unread = new Map();
  const bell = { unread, reloads: 0 };

  const render = () => {
    const n = unread.size;
    ui.count.textContent = n > 99 ? '99+' : String(n);
    ui.count.hidden = n === 0;
    ui.bell.dataset.unread = String(n);
    ui.bell.setAttribute('aria-label', `alerts: ${n} unread`);
    if (!ui.panel.hidden) renderList();
  };

  const renderList = () => {
    ui.list.textContent = '';
    if (unread.size === 0) {
      const li = document.createElement('li');
      li.className = 'muted small';
      li.textContent = 'No unread alerts';
      ui.list.appendChild(li);
      return;
    }
    for (const [id, a] of [...unread].reverse()) {
      const li = document.createElement('li');
      li.dataset.alert = id;
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

  const forget = (ids) => {
    let changed = false;
    for (const id of ids) changed = unread.delete(id) || changed;
    if (changed) render();
  };

  /** Loads the unread alerts from the inbox; the live lines keep them current afterwards. */
  const reload = async () => {
    try {
      const inbox = await client.inbox({ unread: true, limit: LISTED });
      bell.reloads++;
      unread.clear();
      for (const a of inbox.alerts) unread.set(a.id, { event: a.event, data: a.data, ts: a.ts });
      render();
    } catch (err) {
      notify(`alerts unavailable: ${err?.code ?? err}`);
    }
  };

  client.on('alert', (a) => {
    if (unread.has(a.id)) return;
    unread.set(a.id, { event: a.event, data: a.data, ts: a.ts });
    render();
    notify(`🔔 ${a.event}: ${describe(a.data)}`);
  });
  client.on('read', ({ alerts }) => forget(alerts));
  client.on('withdrawn', ({ alerts }) => forget(alerts));
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
    const ids = [...unread.keys()];
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
