/**
 * The one home of a node's stats: the counters the engine keeps, the snapshot read from them,
 * the report `/api/stats` answers (plus process health), its encoding for the other nodes, and
 * the timer that shares it. The Prometheus exporter reads the same snapshot, once per scrape.
 */
import { type Broker, type BrokerStats, sharesStats } from '../broker/types.js';
import type { Hub } from '../hub/index.js';
import { CLOSE } from '../protocol/index.js';
import type { Archive, ArchiveStats } from '../store/types.js';
import type { AlertCounts } from './alerts.js';
import { EventLoopDelay } from './event-loop.js';
import type { LatencySamples } from './latency.js';

/**
 * Close codes counted under their own number: the standard ones (RFC 6455) and the server's
 * catalogue. Any other code a client sends is counted in its range (`3xxx`, `4xxx`, `other`), so
 * clients cannot mint metric series or stats keys (security.md, "client-chosen labels").
 */
const KNOWN_CLOSE_CODES: ReadonlySet<number> = new Set([
  1000,
  1001,
  1002,
  1003,
  1005,
  1006,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
  1015,
  ...Object.values(CLOSE).map((c) => c.code),
]);

/** The key a close code is counted under: the code itself when known, otherwise its range. */
export function closeCodeKey(code: number): string {
  if (KNOWN_CLOSE_CODES.has(code)) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}

/** Counters the engine increments as things happen; cumulative since the node started. */
export class NodeCounters {
  connectionsTotal = 0;
  /** Messages accepted for publishing through this node. */
  messagesIn = 0;
  /** User pushes and broadcasts sent through this node. */
  pushes = 0;
  /** Error replies sent, by code. */
  readonly errors: Record<string, number> = {};
  /** Connections closed, by `closeCodeKey`. */
  readonly closes: Record<string, number> = {};
  /** Connections closed with 4008 because their send queue drained nothing for the stall timeout. */
  stalledCloses = 0;

  /** Counts a connection's end. */
  countClose(code: number): void {
    const key = closeCodeKey(code);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
  }
}

/** One room among the busiest on a node. */
export interface RoomStat {
  room: string;
  members: number;
  /** Messages received for the room since it appeared on this node. */
  messagesIn: number;
  /** Its recent message rate, per second. */
  rate: number;
  /** Messages per frame written (1 when nothing was merged). */
  mergeRatio: number;
  /** Messages skipped for members over their soft mark. */
  droppedSlow: number;
  /** Messages sampled out for members with a render budget. */
  sampledOut: number;
}

/** A snapshot of one node's engine: counters are cumulative, rates are differences. */
export interface NodeStats {
  nodeId: string;
  /** `memory` or `redis`. */
  broker: string;
  uptimeMs: number;
  connections: number;
  /** Rooms with members (or joins in progress) on this node. */
  rooms: number;
  /** Distinct authenticated users with connections on this node. */
  users: number;
  messagesIn: number;
  /** Messages handed to connections (one per message per connection). */
  messagesOut: number;
  /** WebSocket frames written (a merged frame carries many messages). */
  framesOut: number;
  pushes: number;
  /** Messages not delivered, by reason. */
  drops: { slow: number; sampled: number };
  /** Connections closed, by close code (client-chosen unknown codes by range). */
  closes: Record<string, number>;
  /** Connections closed with 4008 because their send queue drained nothing for the stall timeout. */
  stalledCloses: number;
  /** Error replies sent, by code. */
  errors: Record<string, number>;
  /** Moderation actions taken through this node, by action (mute, ban, kick, slowmode...). */
  moderationActions: Record<string, number>;
  /** Client commands refused or altered by moderation, by reason (muted, banned, slow_mode...). */
  moderationRefusals: Record<string, number>;
  /** What the broker holds for rooms (see `BrokerStats`). */
  brokerState: BrokerStats;
  /** p99 of how long a message waited in its room's batch before its frame was written, ms. */
  fanoutP99Ms: number;
  /**
   * p99 of how long a room batch's writes to all its members took, ms: what the last member waits
   * beyond the first, and how long the loop read nothing else (a 5000-member room: ~45 ms).
   */
  fanoutSpanP99Ms: number;
  /** The busiest rooms by members and by messages, at most 2 x `topN` (deduplicated). */
  topRooms: RoomStat[];
  /** The durable store's writer (issue 12), or null when the node runs without a store. */
  store: ArchiveStats | null;
  /** Stored pushes (issue 13): counters since start, zeros when the node keeps no alerts. */
  alerts: AlertCounts;
}

/** What `/api/stats` reports per node: the engine's snapshot plus process health. */
export interface NodeReport extends NodeStats {
  /** p99 event-loop delay over a rolling window of about 10 s, ms. */
  eventLoopP99Ms: number;
  rssBytes: number;
  /**
   * How old the report is, ms: absent for the node answering (fresh), set on the reports of the
   * other nodes of a cluster (shared every interval; measured across the two clocks).
   */
  ageMs?: number;
}

/** The answer of `GET /api/stats`. */
export interface ClusterReport {
  nodes: NodeReport[];
  totals: {
    nodes: number;
    connections: number;
    rooms: number;
    messagesIn: number;
    messagesOut: number;
    framesOut: number;
  };
}

/** What the stats read from the engine (the Node, structurally: no import cycle). */
export interface StatsSource {
  options: { nodeId: string; archive?: Archive };
  broker: Broker;
  hub: Hub;
  startedAt: number;
  fanoutLatency: LatencySamples;
  fanoutSpan: LatencySamples;
  counters: NodeCounters;
  moderation: {
    counters: { actions: Record<string, number>; refusals: Record<string, number> };
  };
  alerts: { counts: AlertCounts };
}

/** Builds the snapshot; O(rooms) for the top lists, so meant for polling, not the hot path. */
export function nodeStats(source: StatsSource, topN = 10): NodeStats {
  const { hub, counters } = source;
  const rooms = roomStats(hub);
  const top = new Map<string, RoomStat>();
  for (const r of [...topRooms(rooms, 'members', topN), ...topRooms(rooms, 'rate', topN)])
    top.set(r.room, r);
  return {
    nodeId: source.options.nodeId,
    broker: source.broker.kind,
    uptimeMs: Date.now() - source.startedAt,
    connections: hub.sessions.size,
    rooms: hub.rooms.size,
    users: hub.users.size,
    messagesIn: counters.messagesIn,
    messagesOut: hub.counters.messagesOut,
    framesOut: hub.counters.framesOut,
    pushes: counters.pushes,
    drops: { slow: hub.counters.droppedSlow, sampled: hub.counters.sampledOut },
    closes: { ...counters.closes },
    stalledCloses: counters.stalledCloses,
    errors: { ...counters.errors },
    moderationActions: { ...source.moderation.counters.actions },
    moderationRefusals: { ...source.moderation.counters.refusals },
    brokerState: source.broker.roomState(),
    fanoutP99Ms: source.fanoutLatency.quantile(0.99),
    fanoutSpanP99Ms: source.fanoutSpan.quantile(0.99),
    topRooms: [...top.values()],
    store: source.options.archive?.stats() ?? null,
    alerts: { ...source.alerts.counts },
  };
}

/** Every room on this node with its numbers. O(rooms). */
export function roomStats(hub: Hub, now = Date.now()): RoomStat[] {
  const out: RoomStat[] = [];
  for (const room of hub.rooms.values()) {
    out.push({
      room: room.name,
      members: room.members.size,
      messagesIn: room.messagesIn,
      rate: Math.round(room.rate.perSecond(now) * 10) / 10,
      mergeRatio: room.batches === 0 ? 1 : Math.round((room.messagesIn / room.batches) * 10) / 10,
      droppedSlow: room.droppedSlow,
      sampledOut: room.sampledOut,
    });
  }
  return out;
}

/** The first `limit` rooms by members or by rate, busiest first. */
export function topRooms(
  rooms: readonly RoomStat[],
  sort: 'members' | 'rate',
  limit: number,
): RoomStat[] {
  const key = sort === 'members' ? (r: RoomStat) => r.members : (r: RoomStat) => r.rate;
  return [...rooms].sort((a, b) => key(b) - key(a) || a.room.localeCompare(b.room)).slice(0, limit);
}

/**
 * A node's stats for the outside: the snapshot (for `/metrics`), this node's report (snapshot plus
 * process health), the cluster's reports (for `/api/stats`), and, with a broker that shares stats
 * (Redis), this node's report shared every `shareEveryMs` so that any node answers for all.
 */
export class StatsReporter {
  private readonly eventLoop = new EventLoopDelay();
  private shareTimer: NodeJS.Timeout | null = null;
  private sharing = false;

  constructor(
    private readonly source: StatsSource,
    private readonly shareEveryMs: number,
  ) {}

  /** The engine's snapshot. */
  snapshot(): NodeStats {
    return nodeStats(this.source);
  }

  /** This node's report, fresh. */
  report(): NodeReport {
    return {
      ...this.snapshot(),
      eventLoopP99Ms: this.eventLoop.p99Ms(),
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /**
   * The cluster's reports: this node's fresh one first, then the other nodes' shared ones (their
   * failure to load leaves them out rather than failing the answer), with totals.
   */
  async clusterReport(): Promise<ClusterReport> {
    const broker = this.source.broker;
    const others = sharesStats(broker) ? await broker.clusterStats().catch(() => []) : [];
    return withTotals(clusterNodeReports(this.report(), others));
  }

  /** Starts sharing this node's report now and every interval (when the broker shares stats). */
  start(): void {
    const broker = this.source.broker;
    if (!sharesStats(broker) || this.shareTimer) return;
    const share = () => {
      if (this.sharing) return; // one share at a time
      this.sharing = true;
      broker
        .shareStats(encodeNodeReport(this.report()))
        .catch(() => {}) // the broker's health reports it
        .finally(() => {
          this.sharing = false;
        });
    };
    this.shareTimer = setInterval(share, this.shareEveryMs);
    this.shareTimer.unref();
    share();
  }

  /** Stops sharing and sampling. */
  stop(): void {
    if (this.shareTimer) clearInterval(this.shareTimer);
    this.shareTimer = null;
    this.eventLoop.stop();
  }
}

/** Sums the reports into the `/api/stats` answer. */
export function withTotals(reports: NodeReport[]): ClusterReport {
  const totals = {
    nodes: reports.length,
    connections: 0,
    rooms: 0,
    messagesIn: 0,
    messagesOut: 0,
    framesOut: 0,
  };
  for (const r of reports) {
    totals.connections += r.connections;
    totals.rooms += r.rooms;
    totals.messagesIn += r.messagesIn;
    totals.messagesOut += r.messagesOut;
    totals.framesOut += r.framesOut;
  }
  return { nodes: reports, totals };
}

/** Encodes this node's report for the other nodes (stamped with when it was shared). */
export function encodeNodeReport(report: NodeReport, now = Date.now()): string {
  return JSON.stringify({ ...report, sharedAt: now });
}

const NUMBER_FIELDS = ['connections', 'rooms', 'messagesIn', 'messagesOut', 'framesOut'] as const;

/**
 * Decodes the other nodes' shared reports: each gets `ageMs`; malformed ones (another version,
 * a corrupted key) are left out rather than failing the whole answer.
 */
export function decodeNodeReports(texts: readonly string[], now = Date.now()): NodeReport[] {
  const out: NodeReport[] = [];
  for (const text of texts) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const { sharedAt, ...report } = value as Record<string, unknown>;
    if (typeof report.nodeId !== 'string') continue;
    if (!NUMBER_FIELDS.every((k) => typeof report[k] === 'number')) continue;
    const age = typeof sharedAt === 'number' ? Math.max(0, now - sharedAt) : 0;
    out.push({ ...(report as unknown as NodeReport), ageMs: age });
  }
  return out;
}

/**
 * The cluster's reports: this node's fresh one first, then the others' shared ones (a node id
 * seen twice, e.g. this node's own stale copy, is kept once).
 */
export function clusterNodeReports(local: NodeReport, others: readonly string[]): NodeReport[] {
  const seen = new Set([local.nodeId]);
  const out = [local];
  for (const report of decodeNodeReports(others)) {
    if (seen.has(report.nodeId)) continue;
    seen.add(report.nodeId);
    out.push(report);
  }
  return out;
}
