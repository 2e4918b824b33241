/**
 * The target of the exhaustion cases: a `barrage serve` process with small caps, a probe client
 * measured at the start, and the bounds every case ends with.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { TestClient } from '../support/client.js';
import { clientFrame } from '../support/raw.js';
import {
  latencyBound,
  medianRtt,
  type NodeReport,
  nodeStats,
  probeAnswers,
  RawWs,
  type ServedProcess,
  serveProcess,
  sleep,
  TIMING_GATES,
  timingGate,
} from './support.js';

/** Connections per IP the target allows. */
export const PER_IP = 150;
/** Connections the target allows in all. */
export const MAX_CONN = 400;
/** How much the server's RSS may grow over its baseline during a case. */
export const RSS_GROWTH_BOUND = 150 * 1024 * 1024;
/** With timing gates on, the event-loop delay p99 (/api/stats, 10 s window) stays under this, ms. */
export const LOOP_P99_BOUND = 500;

/** The outcome of one WebSocket attempt. */
export type Attempt =
  | { ws: WebSocket; status: 101 }
  | { status: number; retryAfter: string | null };

/** A server under attack, with its probe. */
export class Target {
  private readonly sockets: WebSocket[] = [];
  private readonly raws: RawWs[] = [];

  private constructor(
    readonly server: ServedProcess,
    private readonly probe: TestClient,
    private readonly rttBound: number,
    readonly baseRss: number,
  ) {}

  /** Starts the server (caps above, publish rate 10/s burst 20, 100 rooms per connection). */
  static async start(): Promise<Target> {
    const server = await serveProcess([
      '--max-connections',
      String(MAX_CONN),
      '--max-connections-per-ip',
      String(PER_IP),
      '--publish-rate',
      '10',
      '--publish-burst',
      '20',
      '--max-rooms-per-connection',
      '100',
      '--room-policies',
      'live:*=50/lossy',
      '--send-soft-limit-bytes',
      '65536',
      '--send-hard-limit-bytes',
      '262144',
    ]);
    const probe = await TestClient.connect(server.wsUrl);
    await medianRtt(probe, 5);
    const rttBound = TIMING_GATES ? latencyBound(await medianRtt(probe, 11)) : 0;
    const baseRss = (await nodeStats(server.url)).rssBytes;
    return new Target(server, probe, rttBound, baseRss);
  }

  /** Closes everything and stops the server. */
  async stop(): Promise<void> {
    this.probe.close();
    for (const s of this.sockets) s.terminate();
    for (const r of this.raws) r.destroy();
    await this.server.stop();
  }

  /**
   * What every case ends with: the process alive, RSS growth under a generous cap, the probe
   * answered. Event-loop p99 and probe latency are checked only with timing gates on.
   */
  async withinBounds(): Promise<NodeReport> {
    const server = this.server;
    assert.ok(server.alive(), `server exited: ${server.stderr()}`);
    const stats = await nodeStats(server.url);
    const grew = stats.rssBytes - this.baseRss;
    assert.ok(grew < RSS_GROWTH_BOUND, `RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
    await probeAnswers(this.probe);
    timingGate(
      stats.eventLoopP99Ms < LOOP_P99_BOUND,
      `event-loop p99 ${stats.eventLoopP99Ms} ms over ${LOOP_P99_BOUND}`,
    );
    if (TIMING_GATES) {
      const rtt = await medianRtt(this.probe, 5);
      timingGate(rtt <= this.rttBound, `probe ping ${rtt.toFixed(1)} ms over ${this.rttBound} ms`);
    }
    return stats;
  }

  /** One WebSocket attempt from a given loopback address. */
  attempt(localAddress: string): Promise<Attempt> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.server.wsUrl, { localAddress, perMessageDeflate: false });
      ws.on('error', () => {});
      ws.once('open', () => {
        this.sockets.push(ws);
        resolve({ ws, status: 101 });
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] ?? null });
        res.resume();
        ws.terminate();
      });
    });
  }

  /** Terminates every open attempt and waits for the closes. */
  async closeAll(list: Attempt[]): Promise<void> {
    await Promise.all(
      list.map(
        (a) =>
          new Promise<void>((resolve) => {
            if (!('ws' in a) || a.ws.readyState === WebSocket.CLOSED) return resolve();
            a.ws.once('close', () => resolve());
            a.ws.terminate();
          }),
      ),
    );
  }

  /** Waits (5 s at most) until the server holds at most `n` connections. */
  async connectionsDropTo(n: number): Promise<void> {
    const url = this.server.url;
    const deadline = Date.now() + 5000;
    while ((await nodeStats(url)).connections > n && Date.now() < deadline) await sleep(20);
    assert.ok((await nodeStats(url)).connections <= n, 'connections were not released');
  }

  /** A raw WebSocket that joins `room` and then stops reading (its socket paused). */
  async stalledMember(room: string): Promise<RawWs> {
    const raw = await RawWs.open(this.server.port);
    this.raws.push(raw);
    raw.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'join', room, id: 'j' }))));
    await raw.waitText((l) => l.includes('"joined"'));
    raw.socket.pause();
    return raw;
  }

  /** Publishes `count` messages of `size` bytes through the HTTP API, 20 in flight. */
  async apiPublish(room: string, count: number, size: number): Promise<number[]> {
    const offsets: number[] = [];
    const pad = 'x'.repeat(size);
    for (let i = 0; i < count; i += 20) {
      const batch = Array.from({ length: Math.min(20, count - i) }, (_, j) =>
        fetch(`${this.server.url}/api/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ room, data: { i: i + j, pad } }),
        }).then(async (r) => ((await r.json()) as { offset: number }).offset),
      );
      offsets.push(...(await Promise.all(batch)));
    }
    return offsets;
  }
}
