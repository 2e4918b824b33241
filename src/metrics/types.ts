/**
 * What the engine reports as it happens, beyond the counters it keeps itself (which the metrics
 * exporter reads on scrape, through the stats snapshot of src/node/stats.ts). Called per frame
 * batch, never per delivery.
 */
export interface MetricsSink {
  /** A room's batch was written: how long its oldest message waited, and how many it merged. */
  fanout(waitedMs: number, messages: number, sessions: number): void;
}
