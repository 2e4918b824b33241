/**
 * Reads a Server-Sent Events body from `fetch()` (browsers and Node 20 alike, no EventSource and
 * no dependency): fields are parsed as the HTML standard says, one callback per dispatched event.
 * Comments count as signs of life.
 */

/** One dispatched event. */
export interface SseEventData {
  event: string;
  data: string;
  /** The `id:` of the event, or null when it had none. */
  id: string | null;
}

/** Callbacks of {@link readSse}. */
export interface SseHandlers {
  onEvent(event: SseEventData): void;
  /** An `id:` block with no data (the server's positions after a frame). */
  onId(id: string): void;
  /** Any bytes arrived (events, comments, `retry:`). */
  onBytes(): void;
}

/** Reads `body` to its end; resolves when the stream ends (rejects when it breaks). */
export async function readSse(body: ReadableStream<Uint8Array>, h: SseHandlers): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) h.onEvent({ event: event || 'message', data: data.join('\n'), id });
      else if (id !== null) h.onId(id);
      event = '';
      data = [];
      id = null;
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const name = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id') id = value;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    h.onBytes();
    buffer += decoder.decode(value, { stream: true });
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const end = nl > 0 && buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      line(buffer.slice(0, end));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
  }
}

/** Where a stream stands in one room (the server's `since`). */
export interface Position {
  epoch: string;
  offset: number;
}

/** The server's event-id form of positions: `p1 ROOM:EPOCH:OFFSET …` (see docs/sse.md). */
export function encodePositions(positions: ReadonlyMap<string, Position>): string {
  let id = 'p1';
  for (const [room, p] of positions) {
    id += ` ${encodeURIComponent(room)}:${encodeURIComponent(p.epoch)}:${p.offset}`;
  }
  return id;
}
