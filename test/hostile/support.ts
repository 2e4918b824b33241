/**
 * Helpers of the hostile battery: a `barrage serve` child process (so "the process is alive" and
 * its memory mean something), a raw WebSocket client over node:net that reads the server's close
 * frame, a latency guard for a probe client, and readers of /api/stats and /metrics.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestClient } from '../support/client.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A `barrage serve` child process. */
export interface ServedProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  wsUrl: string;
  port: number;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
let exitHook = false;

/**
 * Starts `barrage serve --host 127.0.0.1 --port 0 ARGS` (TypeScript through tsx) and resolves
 * once its "barrage listening" line names the URL. Logs must be at info or more verbose.
 */
export async function serveProcess(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ServedProcess> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BARRAGE_')) clean[k] = v;
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--import',
      'tsx',
      'src/cli/index.ts',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      // No store unless the test asks for one: parallel servers must not share ./data.
      ...(args.includes('--store') ? [] : ['--store', 'none']),
      ...args,
    ],
    { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of children) if (c.pid !== undefined && c.exitCode === null) c.kill('SIGKILL');
    });
  }
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a server behind
      reject(new Error(`no listening line in 20 s; stderr: ${err}`));
    }, 20_000);
    void exited.then(() => reject(new Error(`serve exited early: ${err}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out += `${line}\n`;
      if (!line.includes('barrage listening')) return;
      const entry = JSON.parse(line) as { url?: string };
      if (entry.url) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
  const port = Number(new URL(url).port);
  return {
    child,
    url,
    port,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    stdout: () => out,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** A frame the server sent, as read off the raw socket. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client written by hand over node:net: it can send any bytes at all after the
 * upgrade, and it parses the server's (unmasked) frames, so a test can read the close code the
 * server chose.
 */
export class RawWs {
  readonly frames: ServerFrame[] = [];
  /** The close code of the server's close frame; null before one came (or if it had none). */
  closeCode: number | null = null;
  /** Set when the TCP connection ended. */
  ended = false;
  /** Keep text frames in `frames` (turn off for floods; use `onText` instead). */
  keepText = true;
  /** Called with every text frame's payload. */
  onText: ((text: string) => void) | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  /** Called after every change: frames read, or the connection ended (see `until`). */
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('close', () => {
      this.ended = true;
      this.changed();
    });
    socket.on('error', () => {});
  }

  /** Opens a TCP connection, sends the upgrade and resolves once the 101 arrived. */
  static open(port: number, headers: Record<string, string> = {}): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const raw = new RawWs(socket);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const status = head.subarray(0, end).toString('latin1');
        if (!status.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${status.split('\r\n')[0]}`));
          return;
        }
        socket.on('data', (chunk: Buffer) => raw.onData(chunk));
        raw.onData(head.subarray(end + 4));
        resolve(raw);
      };
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('no upgrade answer in 5 s'));
      }, 5000);
      socket.on('data', onData);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      const lines = Object.entries({
        Host: `127.0.0.1:${port}`,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
        ...headers,
      }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET /ws HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  /** Writes raw bytes. */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Text messages (opcode 1, unfragmented: what this server sends) received so far. */
  texts(): string[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString('utf8'));
  }

  /**
   * Resolves once `check()` holds: checked now, then each time frames are read or the connection
   * ends. Rejects naming `what` after timeoutMs.
   */
  until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => {
        if (!check()) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits until some text frame holds a line matching `pred`. */
  async waitText(pred: (line: string) => boolean, timeoutMs = 5000): Promise<string> {
    let found: string | undefined;
    // Frames are only appended: each check reads the ones the previous checks did not.
    let scanned = 0;
    const find = (): boolean => {
      for (; scanned < this.frames.length; scanned++) {
        const f = this.frames[scanned]!;
        if (f.opcode !== 1) continue;
        for (const line of f.payload.toString('utf8').split('\n')) {
          if (pred(line)) {
            found = line;
            return true;
          }
        }
      }
      return this.ended;
    };
    await this.until(find, 'a matching text', timeoutMs).catch(() => {});
    if (found !== undefined) return found;
    throw new Error(`no matching text; got ${JSON.stringify(this.texts().slice(-3))}`);
  }

  /**
   * Waits for the server's close frame or the end of the connection; resolves with the close
   * code (null when the connection ended without a close frame).
   */
  async closed(timeoutMs = 5000): Promise<number | null> {
    await this.until(() => this.closeCode !== null || this.ended, 'the close', timeoutMs).catch(
      () => {},
    );
    if (this.closeCode === null && !this.ended) throw new Error('connection still open');
    return this.closeCode;
  }

  /** Destroys the TCP connection. */
  destroy(): void {
    this.socket.destroy();
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private onData(chunk: Buffer): void {
    this.readFrames(chunk);
    this.changed();
  }

  private readFrames(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (let guard = 0; guard < 100_000; guard++) {
      const frame = parseServerFrame(this.buffer);
      if (!frame) return;
      this.buffer = this.buffer.subarray(frame.size);
      if (frame.frame.opcode === 1) this.onText?.(frame.frame.payload.toString('utf8'));
      if (frame.frame.opcode !== 1 || this.keepText) this.frames.push(frame.frame);
      if (frame.frame.opcode === 8 && this.closeCode === null) {
        const p = frame.frame.payload;
        this.closeCode = p.length >= 2 ? p.readUInt16BE(0) : 1005;
      }
    }
  }
}

function parseServerFrame(b: Buffer): { frame: ServerFrame; size: number } | null {
  if (b.length < 2) return null;
  const fin = (b[0]! & 0x80) !== 0;
  const opcode = b[0]! & 0x0f;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    len = Number(b.readBigUInt64BE(2));
    at = 10;
  }
  if (b.length < at + len) return null;
  return { frame: { fin, opcode, payload: b.subarray(at, at + len) }, size: at + len };
}

/** A masked client frame with full control of FIN, RSV bits, opcode and the length field. */
export function frame(
  opcode: number,
  payload: Buffer | string,
  options: { fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: bigint } = {},
): Buffer {
  const body = Buffer.from(payload);
  const masked = options.masked ?? true;
  const len = options.declaredLength ?? BigInt(body.length);
  let head: Buffer;
  if (len < 126n) {
    head = Buffer.alloc(2);
    head[1] = Number(len);
  } else if (len < 65536n) {
    head = Buffer.alloc(4);
    head[1] = 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(len, 2);
  }
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  if (!masked) return Buffer.concat([head, body]);
  head[1] = head[1]! | 0x80;
  const mask = randomBytes(4);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/** Median ping round trip of a TestClient over `n` sequential pings, ms. */
export async function medianRtt(client: TestClient, n = 7): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.request({ type: 'ping' }, 5000);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export { TIMING_GATES, timingGate } from '../support/timing.js';

/** The probe answers a ping (correctness: the server still serves), however slowly. */
export async function probeAnswers(client: TestClient): Promise<void> {
  const reply = await client.request({ type: 'ping' }, 30_000);
  assert.equal(reply.type, 'pong');
}

/**
 * The probe's latency bound: 3 x its baseline median, the baseline floored at `floorMs` since
 * the machine is shared (a 1 ms loopback baseline would make 3 ms a flaky bound).
 */
export function latencyBound(baselineMs: number, floorMs = 20): number {
  return 3 * Math.max(baselineMs, floorMs);
}

/** One node's entry of `/api/stats`. */
export interface NodeReport {
  nodeId: string;
  connections: number;
  rooms: number;
  messagesIn: number;
  messagesOut: number;
  framesOut: number;
  drops: Record<string, number>;
  closes: Record<string, number>;
  stalledCloses: number;
  errors: Record<string, number>;
  eventLoopP99Ms: number;
  rssBytes: number;
}

/** `GET /api/stats`, first node. */
export async function nodeStats(url: string, apiKey?: string): Promise<NodeReport> {
  const res = await fetch(`${url}/api/stats`, {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  if (res.status !== 200) throw new Error(`/api/stats: ${res.status}`);
  const body = (await res.json()) as { nodes: NodeReport[] };
  return body.nodes[0]!;
}

/** `GET /metrics` parsed into `name{labels}` → value. */
export async function metrics(url: string, apiKey?: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  if (res.status !== 200) throw new Error(`/metrics: ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const key = line
      .slice(0, space)
      .replace(/,?node="[^"]*"/, '')
      .replace('{}', '');
    out.set(key, Number(line.slice(space + 1)));
  }
  return out;
}

/**
 * Sum of a metric over every label set (e.g. every `reason` of barrage_drops_total), or over
 * those whose labels contain `label` (e.g. `reason="sampled"`).
 */
export function metricSum(m: Map<string, number>, name: string, label?: string): number {
  let sum = 0;
  for (const [key, value] of m) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (label === undefined || key.includes(label)) sum += value;
  }
  return sum;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
