/**
 * A batch of messages as the database thread receives it: one string holding every text field
 * end to end, and two typed arrays (their lengths, and the numbers) whose buffers are transferred,
 * not copied. Cloning an array of 2000 message objects for `postMessage` costs the event loop
 * some microseconds per message (each object's keys and values serialized one by one); one string
 * and two buffers cost a copy of the text. The ids' ranks are computed on the database thread.
 */
import type { StoredMessage } from '../types.js';

/** Text fields of a message, in packing order. */
const TEXTS = 5; // room, id, epoch, from, data
/** Numeric fields of a message, in packing order. */
const NUMBERS = 4; // offset, t, ts, priority
/** The length that stands for a null `from`. */
const NULL_TEXT = 0xffff_ffff;

/** A packed batch (structured-clonable; `transfer` lists its buffers for postMessage). */
export interface PackedBatch {
  count: number;
  text: string;
  /** UTF-16 lengths of the text fields, TEXTS per message; NULL_TEXT for a null `from`. */
  lengths: Uint32Array;
  /** OFFSET, t (NaN for null), ts, priority per message. */
  numbers: Float64Array;
}

/** Packs a batch on the main thread. */
export function packBatch(batch: readonly StoredMessage[]): PackedBatch {
  const lengths = new Uint32Array(batch.length * TEXTS);
  const numbers = new Float64Array(batch.length * NUMBERS);
  const parts: string[] = [];
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    const l = i * TEXTS;
    lengths[l] = m.room.length;
    lengths[l + 1] = m.id.length;
    lengths[l + 2] = m.epoch.length;
    lengths[l + 3] = m.from === null ? NULL_TEXT : m.from.length;
    lengths[l + 4] = m.data.length;
    parts.push(m.room, m.id, m.epoch, m.from ?? '', m.data);
    const n = i * NUMBERS;
    numbers[n] = m.offset;
    numbers[n + 1] = m.t ?? Number.NaN;
    numbers[n + 2] = m.ts;
    numbers[n + 3] = m.priority;
  }
  return { count: batch.length, text: parts.join(''), lengths, numbers };
}

/** The buffers of a packed batch, for postMessage's transfer list. */
export function packedTransfer(batch: PackedBatch): ArrayBuffer[] {
  return [batch.lengths.buffer as ArrayBuffer, batch.numbers.buffer as ArrayBuffer];
}

/** Unpacks a batch (on the database thread). */
export function unpackBatch(batch: PackedBatch): StoredMessage[] {
  const { text, lengths, numbers } = batch;
  const out: StoredMessage[] = new Array(batch.count);
  let at = 0;
  const next = (l: number): string => {
    const s = text.slice(at, at + l);
    at += l;
    return s;
  };
  for (let i = 0; i < batch.count; i++) {
    const l = i * TEXTS;
    const n = i * NUMBERS;
    const room = next(lengths[l]!);
    const id = next(lengths[l + 1]!);
    const epoch = next(lengths[l + 2]!);
    const fromLength = lengths[l + 3]!;
    const from = fromLength === NULL_TEXT ? null : next(fromLength);
    const data = next(lengths[l + 4]!);
    const t = numbers[n + 1]!;
    out[i] = {
      room,
      id,
      epoch,
      offset: numbers[n]!,
      t: Number.isNaN(t) ? null : t,
      ts: numbers[n + 2]!,
      from,
      priority: numbers[n + 3]!,
      data,
    };
  }
  if (at !== text.length) throw new Error('packed batch: text does not match its lengths');
  return out;
}
