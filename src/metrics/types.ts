/**
 * What the engine reports as it happens, beyond the counters it keeps itself (which the metrics
 * exporter reads on scrape, through the stats snapshot of src/node/stats.ts). Called per frame
 * batch, never per delivery.
 */
export interface MetricsSink {
  /** A room's batch was written: how long its oldest message waited, and how many it merged. */
  fanout(waitedMs: number, messages: number, sessions: number): void;
  /**
   * An alert timing (issue 13), ms: `delivery` from the store's commit to a live delivery that
   * reached a connection, or from the alert's `ts` to a redelivery; `ack` from `ts` to its read.
   */
  alertTiming(what: 'delivery' | 'ack', ms: number): void;
  /** A user's inbox size (alerts kept) after an alert was stored. */
  alertInboxSize(alerts: number): void;
}

/**
 * Compress-once counters of the WebSocket gateway (src/gateway/ws-frames.ts `FrameCounters`),
 * cumulative: payloads compressed (once each, whatever the number of sockets), and the bytes
 * before and after for those kept compressed (a payload that did not shrink goes out plain).
 */
export interface CompressionCounters {
  readonly deflated: number;
  readonly deflatedIn: number;
  readonly deflatedOut: number;
}
