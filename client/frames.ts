import type { ServerFrame } from './types.js';

/**
 * Splits one WebSocket text frame into its JSON lines and parses each. The server merges many
 * messages into one frame separated by `\n`. Lines that are blank, not JSON, or not objects with
 * a string `type` are skipped (they are counted in `skipped`), so one bad line never hides the
 * others.
 */
export function parseFrame(text: string): { frames: ServerFrame[]; skipped: number } {
  const frames: ServerFrame[] = [];
  let skipped = 0;
  let start = 0;
  const length = text.length;
  while (start <= length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    const frame = parseLine(line);
    if (frame) frames.push(frame);
    else skipped++;
  }
  return { frames, skipped };
}

function parseLine(line: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  if (typeof (value as { type?: unknown }).type !== 'string') return null;
  return value as ServerFrame;
}

/** Turns a socket's message data (string, or bytes from some runtimes) into text. */
export function frameText(data: unknown): string | null {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return decoder.decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) {
    return decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return null;
}

const decoder = new TextDecoder();
