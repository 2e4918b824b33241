/**
 * Publishers at a fixed total rate: a few dedicated connections (or HTTP API calls for `push` and `publish`)
 * that send `{"t":<ms>,"s":seq,"p":publisher,"x":padding}` as each message's data. The schedule
 * is by elapsed time (messages due = rate x elapsed), so timer jitter does not lower the rate;
 * a publisher that cannot keep up is reported as `behind`, never silently slower.
 */
import { Agent, request } from 'node:http';
import type WebSocket from 'ws';
import { type ConnSpec, openClient } from './clients.js';
import { nowMs } from './counter.js';
import { dialectOf, type TargetKind } from './dialects.js';

/** Totals of one publishing phase. */
export interface PublishResult {
  /** Messages sent (or HTTP pushes answered). */
  sent: number;
  /** Messages sent per room index. */
  perRoom: number[];
  /** Error replies per room index (index -1 errors land in `errors` only). */
  errorsPerRoom: number[];
  errors: number;
  /** API calls: the first few distinct reasons of `errors` (an HTTP status, or the socket error). */
  errorReasons?: string[];
  /** Messages due by the schedule but never sent (the publisher fell behind). */
  behind: number;
  /** For push: connections the server reported reaching, summed. */
  delivered: number;
  /** Wall time of the phase in ms. */
  ms: number;
}

/** Builds the JSON text of one message's data. */
export function messageData(seq: number, publisher: number, pad: string): string {
  return `{"t":${nowMs()},"s":${seq},"p":${publisher}${pad}}`;
}

/** Padding (as a JSON field) that makes a message's data about `bytes` long. */
export function padding(bytes: number): string {
  const n = Math.max(0, bytes - 48);
  return n === 0 ? '' : `,"x":"${'x'.repeat(n)}"`;
}

const TICK_MS = 5;

/** Runs `send(k)` for k = 0.. at `rate` per second for `durationMs`; bounded per tick. */
export function schedule(
  rate: number,
  durationMs: number,
  send: (k: number) => void,
  onTick?: (elapsedMs: number, sent: number) => void,
): Promise<{ sent: number; behind: number; ms: number }> {
  const start = nowMs();
  const maxPerTick = Math.max(1, Math.ceil(rate / 10));
  let sent = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const elapsed = Math.min(nowMs() - start, durationMs);
      const due = Math.floor((rate * elapsed) / 1000);
      const n = Math.min(due - sent, maxPerTick);
      for (let i = 0; i < n; i++) send(sent++);
      onTick?.(elapsed, sent);
      if (elapsed >= durationMs) {
        clearInterval(timer);
        const total = Math.floor((rate * durationMs) / 1000);
        resolve({ sent, behind: Math.max(0, total - sent), ms: nowMs() - start });
      }
    };
    const timer = setInterval(tick, TICK_MS);
  });
}

/** Publishing connections for room scenarios. */
export class RoomPublishers {
  private sockets: WebSocket[] = [];
  private errorsPerRoom: number[] = [];
  private errors = 0;

  constructor(
    private readonly kind: TargetKind,
    private readonly rooms: string[],
    private readonly payloadBytes: number,
  ) {}

  /** Opens the publishing connections (they join no room). */
  async open(conns: ConnSpec[], sourceIps: number, timeoutMs: number): Promise<void> {
    const d = dialectOf(this.kind);
    this.sockets = await Promise.all(
      conns.map((c, i) => openClient({ kind: this.kind, sourceIps, timeoutMs }, c, i)),
    );
    for (const ws of this.sockets) {
      ws.on('error', () => {});
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        const pong = d.pongFor(text);
        if (pong !== null) return void ws.send(pong);
        for (const id of d.errorIds(text)) {
          this.errors++;
          if (id >= 0 && id < this.rooms.length)
            this.errorsPerRoom[id] = (this.errorsPerRoom[id] ?? 0) + 1;
        }
      });
    }
  }

  /** Publishes at `rate` messages/s in total, round-robin over rooms and connections. */
  async run(
    rate: number,
    durationMs: number,
    onTick?: (elapsedMs: number, sent: number) => void,
  ): Promise<PublishResult> {
    const d = dialectOf(this.kind);
    const pad = padding(this.payloadBytes);
    const perRoom = new Array<number>(this.rooms.length).fill(0);
    this.errorsPerRoom = new Array<number>(this.rooms.length).fill(0);
    this.errors = 0;
    const nConn = this.sockets.length;
    const nRoom = this.rooms.length;
    const r = await schedule(
      rate,
      durationMs,
      (k) => {
        const room = k % nRoom;
        const p = k % nConn;
        perRoom[room] = (perRoom[room] ?? 0) + 1;
        this.sockets[p]!.send(d.publishFrame(this.rooms[room]!, messageData(k, p, pad), room));
      },
      onTick,
    );
    // Replies to the last messages arrive after the schedule ends.
    await new Promise((res) => setTimeout(res, 200));
    return {
      sent: r.sent,
      perRoom,
      errorsPerRoom: this.errorsPerRoom.slice(),
      errors: this.errors,
      behind: r.behind,
      delivered: 0,
      ms: r.ms,
    };
  }

  /** Closes the publishing connections. */
  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets = [];
  }
}

/** Which API call `runApiCalls` makes: a push to a random user or a publish to a random room. */
export type ApiCall = 'push' | 'publish';

/**
 * HTTP API calls at a fixed rate: `POST /api/push` to random users or `POST /api/publish` to
 * random rooms, at most `maxInFlight` at once, over a keep-alive agent (the way a backend calls
 * the API; a connection per call would measure TCP setup instead). A call that finds
 * `maxInFlight` taken is counted as `behind`.
 */
export async function runApiCalls(opts: {
  httpUrl: string;
  apiKey: string | null;
  call: ApiCall;
  /** User ids (push) or room names (publish). */
  targets: string[];
  rate: number;
  durationMs: number;
  payloadBytes: number;
  maxInFlight: number;
  /** Store each push as an alert (`"persist": true`, docs/alerts.md). */
  persist?: boolean;
  /** Keep-alive connections to the API (default 32); ignored with `agent`. */
  sockets?: number;
  /**
   * The caller's keep-alive agent (see apiAgent), kept open afterwards: a warm-up and the
   * measured window then run over the same connections.
   */
  agent?: Agent;
  /** The first message's sequence number (default 0), so two runs' messages stay apart. */
  firstSeq?: number;
  onTick?: (elapsedMs: number, sent: number) => void;
}): Promise<PublishResult> {
  const pad = padding(opts.payloadBytes);
  const url = new URL(`/api/${opts.call}`, opts.httpUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const agent = opts.agent ?? apiAgent(opts.sockets);
  const firstSeq = opts.firstSeq ?? 0;
  const perRoom = new Array<number>(opts.call === 'publish' ? opts.targets.length : 0).fill(0);
  let inFlight = 0;
  let answered = 0;
  let errors = 0;
  let skipped = 0;
  let delivered = 0;
  const reasons = new Set<string>();
  const failed = (reason: string): void => {
    errors++;
    if (reasons.size < 3) reasons.add(reason);
  };
  const all = new Set<Promise<void>>();
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const persist = opts.persist ? ',"persist":true' : '';
  const callOnce = async (k: number): Promise<void> => {
    const i = Math.floor(random() * opts.targets.length);
    const to = JSON.stringify(opts.targets[i]!);
    const data = messageData(firstSeq + k, 0, pad);
    const body =
      opts.call === 'push'
        ? `{"userId":${to},"event":"bench","data":${data}${persist}}`
        : `{"room":${to},"data":${data}}`;
    try {
      const { status, text } = await post(url, agent, headers, body);
      if (status !== 200) failed(`HTTP ${status}: ${text.slice(0, 80)}`);
      else {
        answered++;
        if (opts.call === 'publish') perRoom[i] = (perRoom[i] ?? 0) + 1;
        else delivered += Number(/"delivered":(\d+)/.exec(text)?.[1] ?? 0);
      }
    } catch (err) {
      failed((err as Error).message);
    }
  };
  const r = await schedule(
    opts.rate,
    opts.durationMs,
    (k) => {
      if (inFlight >= opts.maxInFlight) {
        skipped++;
        return;
      }
      inFlight++;
      const p = callOnce(k).finally(() => {
        inFlight--;
        all.delete(p);
      });
      all.add(p);
    },
    opts.onTick,
  );
  await Promise.race([Promise.all(all), new Promise((res) => setTimeout(res, 10_000))]);
  if (!opts.agent) agent.destroy();
  return {
    sent: answered,
    perRoom,
    errorsPerRoom: [],
    errors,
    errorReasons: [...reasons],
    behind: r.behind + skipped,
    delivered,
    ms: r.ms,
  };
}

/**
 * A keep-alive agent for `runApiCalls` with at most `sockets` connections (default 32), used in
 * turn (`fifo`): once `openSockets` has opened them, every one carries a call every few ms, none
 * sits idle long enough for the server to close it, and a burst of calls finds them open.
 */
export function apiAgent(sockets = 32): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, scheduling: 'fifo' });
}

/**
 * Opens `count` connections of `agent` to the server at `httpUrl` (one `GET /healthz` on each, all
 * at once), as wrk opens its connections before it measures. A new connection to a loaded Node
 * server waits in its accept queue: libuv accepts one connection per turn of the event loop
 * (docs/performance.md), so a call that had to open one measured the queue, not the server.
 */
export async function openSockets(agent: Agent, httpUrl: string, count: number): Promise<void> {
  const url = new URL('/healthz', httpUrl);
  const one = () =>
    new Promise<void>((resolve, reject) => {
      // Any answer will do (a peer without /healthz says 404): the connection is what counts.
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const results = await Promise.allSettled(Array.from({ length: count }, one));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    // A run whose calls would open connections inside the window would measure the accept
    // queue again: fail it with the reason rather than measure that.
    const reason = (failed[0]!.reason as Error).message;
    throw new Error(`opened ${count - failed.length} of ${count} API connections (${reason})`);
  }
}

/** One POST over `agent`; resolves with the status and the answer's text. */
function post(
  url: URL,
  agent: Agent,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
