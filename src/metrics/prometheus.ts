import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { NodeStats, RoomStat } from '../node/index.js';
import { TalliedHistogram } from './tallied-histogram.js';
import type { CompressionCounters, MetricsSink } from './types.js';

const NO_COMPRESSION: CompressionCounters = { deflated: 0, deflatedIn: 0, deflatedOut: 0 };
/** The `stage` values of barrage_alert_seconds, in the order alertTiming indexes them. */
const ALERT_STAGES = ['delivery', 'ack'] as const;

/**
 * Prometheus exporter (prom-client). The engine counts in plain numbers; a scrape reads one stats
 * snapshot (src/node/stats.ts) and every collector takes its numbers from it, so the fan-out path
 * never touches prom-client. The fan-out latency and batch sizes, the alert timings and inbox sizes
 * are observed as they happen, tallied in plain numbers (tallied-histogram.ts).
 */
export class PrometheusMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly fanoutSeconds: TalliedHistogram;
  private readonly mergedMessages: TalliedHistogram;
  private readonly alertSeconds: TalliedHistogram;
  private readonly inboxSizes: TalliedHistogram;
  /** The snapshot of the scrape in progress (null between scrapes). */
  private scraped: NodeStats | null = null;
  private scrapes = 0;
  /** Reads the WebSocket gateway's compress-once counters (zeros until one is attached). */
  private compression: () => CompressionCounters = () => NO_COMPRESSION;

  constructor(
    /** Reads the node's stats snapshot (once per scrape). */
    private readonly read: () => NodeStats,
    labels: Record<string, string> = {},
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'barrage_' });
    const snapshot = () => this.scraped ?? this.read();
    const gauge = (name: string, help: string, pick: (s: NodeStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(snapshot()));
        },
      });
    const counter = (name: string, help: string, pick: (s: NodeStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(snapshot()));
        },
      });
    const labelled = (
      name: string,
      help: string,
      label: string,
      pick: (s: NodeStats) => Record<string, number>,
    ) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const [value, n] of Object.entries(pick(snapshot())))
            this.inc({ [label]: value }, n);
        },
      });
    gauge('barrage_connections', 'Open WebSocket connections', (s) => s.connections);
    gauge('barrage_rooms', 'Rooms with members on this node', (s) => s.rooms);
    gauge('barrage_users', 'Authenticated users with connections on this node', (s) => s.users);
    counter(
      'barrage_messages_in_total',
      'Messages accepted for publishing through this node',
      (s) => s.messagesIn,
    );
    counter(
      'barrage_messages_out_total',
      'Messages handed to connections (one per message per connection)',
      (s) => s.messagesOut,
    );
    counter(
      'barrage_frames_out_total',
      'WebSocket frames written (merged frames carry many messages)',
      (s) => s.framesOut,
    );
    counter(
      'barrage_pushes_total',
      'User pushes and broadcasts sent through this node',
      (s) => s.pushes,
    );
    labelled('barrage_drops_total', 'Messages not delivered, by reason', 'reason', (s) => s.drops);
    labelled(
      'barrage_closes_total',
      'Connections closed, by close code (unknown client-chosen codes by range: 3xxx, 4xxx, other)',
      'code',
      (s) => s.closes,
    );
    counter(
      'barrage_stalled_closes_total',
      'Connections closed with 4008 because their send queue drained nothing for the stall timeout',
      (s) => s.stalledCloses,
    );
    labelled('barrage_errors_total', 'Error replies sent, by code', 'code', (s) => s.errors);
    labelled(
      'barrage_moderation_actions_total',
      'Moderation actions taken through this node (API or library), by action',
      'action',
      (s) => s.moderationActions,
    );
    labelled(
      'barrage_moderation_refusals_total',
      'Client joins and publishes refused (or shadowed, masked) by moderation, by reason',
      'reason',
      (s) => s.moderationRefusals,
    );
    gauge(
      'barrage_broker_streams',
      'Rooms whose state the broker holds in this process (memory: streams; Redis: subscribed feeds)',
      (s) => s.brokerState.streams,
    );
    counter(
      'barrage_broker_streams_created_total',
      'Room states the broker created (memory: streams; Redis: room meta keys written)',
      (s) => s.brokerState.streamsCreated,
    );
    // The durable store's writer (issue 12); zeros when the node runs without a store.
    const store = (s: NodeStats) => s.store;
    gauge(
      'barrage_store_queue_depth',
      'Stored publishes waiting for their commit (reserved, queued or in the batch being written)',
      (s) => store(s)?.queueDepth ?? 0,
    );
    counter(
      'barrage_store_written_total',
      'Messages committed to the store',
      (s) => store(s)?.written ?? 0,
    );
    counter('barrage_store_batches_total', 'Batches committed', (s) => store(s)?.batches ?? 0);
    counter(
      'barrage_store_refused_total',
      'Publishes to stored rooms refused because the write queue was full',
      (s) => store(s)?.refused ?? 0,
    );
    counter(
      'barrage_store_errors_total',
      'Failed batch commits (each batch is retried)',
      (s) => store(s)?.errors ?? 0,
    );
    gauge(
      'barrage_store_write_p99_seconds',
      'p99 of how long a stored message waited from queued to committed, over the last 1024',
      (s) => (store(s)?.writeP99Ms ?? 0) / 1000,
    );
    gauge(
      'barrage_store_batch_size',
      'Mean messages per committed batch, over the last 1024 batches',
      (s) => store(s)?.meanBatch ?? 0,
    );
    const cached = (s: NodeStats) => store(s)?.segmentCache;
    counter(
      'barrage_segment_cache_hits_total',
      'Viewer segments answered from the rendered-segment cache',
      (s) => cached(s)?.hits ?? 0,
    );
    counter(
      'barrage_segment_cache_misses_total',
      'Viewer segments not in the cache (read from the store, or joined a read already running)',
      (s) => cached(s)?.misses ?? 0,
    );
    counter(
      'barrage_segment_cache_evictions_total',
      'Cached segments dropped to stay within timelineCacheBytes',
      (s) => cached(s)?.evictions ?? 0,
    );
    gauge(
      'barrage_segment_cache_bytes',
      'Bytes the rendered-segment cache holds (bodies plus a per-entry overhead)',
      (s) => cached(s)?.bytes ?? 0,
    );
    // Stored pushes (issue 13); zeros when the node keeps no alerts.
    const alert = (what: keyof NodeStats['alerts'], help: string) =>
      counter(`barrage_alerts_${what}_total`, help, (s) => s.alerts[what]);
    alert('stored', 'Stored pushes (alerts) committed by this node (duplicates not counted)');
    alert('delivered', 'Alert lines handed to connections, live and redelivered');
    alert('acked', 'Alerts marked read (ack or the HTTP API), each once');
    alert('expired', 'Alerts removed by the expiry sweep');
    alert('collapsed', 'Unread alerts replaced by a newer one with the same collapse key');
    alert('dropped', 'Unread alerts removed by the per-user inbox cap');
    // Compress-once (wsCompressMinBytes): read from the gateway, not the stats snapshot.
    const readCompression = () => this.compression();
    const compressed = (name: string, help: string, pick: (c: CompressionCounters) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(readCompression()));
        },
      });
    compressed(
      'barrage_ws_compressed_frames_total',
      'Payloads compressed for permessage-deflate sockets, once each whatever the number of sockets',
      (c) => c.deflated,
    );
    compressed(
      'barrage_ws_compressed_bytes_in_total',
      'Bytes before compression of the payloads sent compressed',
      (c) => c.deflatedIn,
    );
    compressed(
      'barrage_ws_compressed_bytes_out_total',
      'Bytes after compression of the payloads sent compressed',
      (c) => c.deflatedOut,
    );
    const perRoom = (name: string, help: string, pick: (r: RoomStat) => number) =>
      new Gauge({
        name,
        help: `${help} (the busiest rooms only, so the room label stays bounded)`,
        labelNames: ['room'],
        registers,
        collect() {
          this.reset();
          for (const r of snapshot().topRooms) this.set({ room: r.room }, pick(r));
        },
      });
    perRoom('barrage_room_members', 'Members of a room on this node', (r) => r.members);
    perRoom('barrage_room_messages_per_second', 'Recent message rate of a room', (r) => r.rate);
    perRoom(
      'barrage_room_merge_ratio',
      'Messages per frame written for a room',
      (r) => r.mergeRatio,
    );
    perRoom(
      'barrage_room_drops',
      'Messages not delivered in a room (slow + sampled)',
      (r) => r.droppedSlow + r.sampledOut,
    );
    this.fanoutSeconds = new TalliedHistogram({
      name: 'barrage_fanout_latency_seconds',
      help: 'How long a message waited in its room batch on this node before its frame was written',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.mergedMessages = new TalliedHistogram({
      name: 'barrage_frame_messages',
      help: 'Messages merged into one room frame',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.alertSeconds = new TalliedHistogram({
      name: 'barrage_alert_seconds',
      help: 'Alert timings: stage=delivery from the commit to a live delivery (or from ts to a redelivery), stage=ack from ts to the read',
      label: { name: 'stage', values: ALERT_STAGES },
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 10, 60, 600, 3600, 86400],
      registers,
    });
    this.inboxSizes = new TalliedHistogram({
      name: 'barrage_alert_inbox_size',
      help: "A user's inbox size (alerts kept) after each stored push",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 5000],
      registers,
    });
  }

  /** Reports the WebSocket gateway's compress-once counters from now on. */
  watchCompression(read: () => CompressionCounters): void {
    this.compression = read;
  }

  alertTiming(what: 'delivery' | 'ack', ms: number): void {
    this.alertSeconds.observe(ms / 1000, ALERT_STAGES.indexOf(what));
  }

  alertInboxSize(alerts: number): void {
    this.inboxSizes.observe(alerts);
  }

  fanout(waitedMs: number, messages: number): void {
    this.fanoutSeconds.observe(waitedMs / 1000);
    this.mergedMessages.observe(messages);
  }

  /** The exposition text and its content type, from one snapshot of the node's stats. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    if (this.scrapes++ === 0) this.scraped = this.read();
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      if (--this.scrapes === 0) this.scraped = null;
    }
  }
}
