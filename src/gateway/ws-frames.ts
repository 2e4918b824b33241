import { constants, deflateRawSync } from 'node:zlib';
import * as wsModule from 'ws';
import { DEFLATE_WINDOW_BITS } from './ws-deflate.js';

/**
 * WebSocket frames built once per payload and shared by every socket that sends it.
 *
 * A fan-out hands the same payload Buffer to every member of a room (see src/hub/fanout.ts); `ws`
 * would build a header and issue a two-buffer writev per member. Here the whole frame (header and
 * payload in one Buffer) is built on the first member's send and cached against the payload
 * Buffer, so each further member costs one `socket.write` of bytes that already exist. Payloads
 * are immutable by the Transport contract, which is what makes caching by identity sound.
 *
 * Compress-once: when a socket negotiated permessage-deflate, the server always sends with
 * `server_no_context_takeover`, so a compressed message depends on no earlier one and the same
 * compressed frame is valid for every such socket. It is built once per payload (synchronously,
 * so frames keep their order) and only for payloads of at least `compressMinBytes`.
 */

/** Options of the frame builder. */
export interface FrameOptions {
  /** Smallest payload compressed for sockets that negotiated permessage-deflate; 0: never. */
  compressMinBytes: number;
  /** zlib level of the shared compressor (1 fastest .. 9 smallest). @default 1 */
  compressLevel?: number;
}

/** The subset of ws's public static `Sender.frame` used here (not in @types/ws). */
type FrameFn = (
  data: Buffer,
  options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
) => Buffer[];

// @types/ws does not declare `Sender`, which ws's ES module exports by name (ws/wrapper.mjs).
const frameOf: FrameFn = (wsModule as unknown as { Sender: { frame: FrameFn } }).Sender.frame;

const TEXT_OPCODE = 0x01;
/** The empty stored block a sync flush ends with; permessage-deflate drops it (RFC 7692 7.2.1). */
const DEFLATE_TAIL = 4;

/** The frames built for one payload. */
interface Built {
  plain: Buffer;
  /** Compressed frame; null when not worth it; undefined until first asked for. */
  deflated: Buffer | null | undefined;
}

/** Counters of the shared frame builder, cumulative. */
export interface FrameCounters {
  /** Payloads framed (each once, whatever the number of sockets). */
  framesBuilt: number;
  /** Payloads compressed, and the bytes before and after for those that were kept compressed. */
  deflated: number;
  deflatedIn: number;
  deflatedOut: number;
}

/** Builds and caches the frames of shared payloads (one instance per gateway). */
export class SharedFrames {
  private readonly built = new WeakMap<Buffer, Built>();
  /** The last payload looked up: a fan-out asks for the same one thousands of times in a row. */
  private lastPayload: Buffer | null = null;
  private lastBuilt: Built | null = null;
  private readonly level: number;
  readonly counters: FrameCounters = {
    framesBuilt: 0,
    deflated: 0,
    deflatedIn: 0,
    deflatedOut: 0,
  };

  constructor(private readonly options: FrameOptions) {
    this.level = options.compressLevel ?? 1;
  }

  /** Whether compression may ever be used (ws should offer permessage-deflate). */
  get compresses(): boolean {
    return this.options.compressMinBytes > 0;
  }

  /** The unmasked, final text frame of a payload. */
  plain(payload: Buffer): Buffer {
    return this.lookup(payload).plain;
  }

  /** The compressed frame of a payload, or the plain one when it is small or does not shrink. */
  deflated(payload: Buffer): Buffer {
    const b = this.lookup(payload);
    if (b.deflated === undefined) b.deflated = this.deflate(payload);
    return b.deflated ?? b.plain;
  }

  /**
   * The frame of a payload sent to one socket only (a reply), as the buffers to write in a row
   * (header and payload, not joined: the caller joins a turn's frames once): compressed when
   * `deflate` and worth it, and not cached (a cache entry per reply costs more than it saves).
   */
  single(payload: Buffer, deflate: boolean): Buffer[] {
    if (deflate) {
      const compressed = this.deflate(payload);
      if (compressed !== null) return [compressed];
    }
    return frameOf(payload, FRAME_PLAIN);
  }

  private lookup(payload: Buffer): Built {
    if (payload === this.lastPayload) return this.lastBuilt!;
    let b = this.built.get(payload);
    if (b === undefined) {
      b = { plain: textFrame(payload, false), deflated: undefined };
      this.built.set(payload, b);
      this.counters.framesBuilt++;
    }
    this.lastPayload = payload;
    this.lastBuilt = b;
    return b;
  }

  private deflate(payload: Buffer): Buffer | null {
    const min = this.options.compressMinBytes;
    if (min <= 0 || payload.length < min) return null;
    const out = deflateRawSync(payload, {
      level: this.level,
      windowBits: DEFLATE_WINDOW_BITS,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    this.counters.deflated++;
    const body = out.subarray(0, out.length - DEFLATE_TAIL);
    if (body.length >= payload.length) return null;
    this.counters.deflatedIn += payload.length;
    this.counters.deflatedOut += body.length;
    return textFrame(body, true);
  }
}

const FRAME_PLAIN = { fin: true, opcode: TEXT_OPCODE, mask: false, readOnly: true, rsv1: false };

/** One Buffer holding a final, unmasked text frame (server frames are never masked). */
export function textFrame(payload: Buffer, compressed: boolean): Buffer {
  const parts = frameOf(payload, {
    fin: true,
    opcode: TEXT_OPCODE,
    mask: false,
    readOnly: true,
    rsv1: compressed,
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
