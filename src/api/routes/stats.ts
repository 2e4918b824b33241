import type { Hono } from 'hono';
import type { NodeStats } from '../../node/index.js';

/** What `/api/stats` reports per node: the engine's stats plus process health. */
export type NodeReport = NodeStats & {
  eventLoopP99Ms: number;
  rssBytes: number;
  /**
   * How old the report is, ms: absent for the node answering (fresh), set on the reports of the
   * other nodes of a cluster (shared every presence interval; measured across the two clocks).
   */
  ageMs?: number;
};

/** `GET /api/stats` → `{nodes: [...], totals}`; cumulative counters, rates are differences. */
export function statsRoute(app: Hono, nodes: () => Promise<NodeReport[]>): void {
  app.get('/api/stats', async (c) => {
    const reports = await nodes();
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
    return c.json({ nodes: reports, totals });
  });
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

/**
 * Shares this node's report through `sink` (a broker with stats sharing) now and every
 * `intervalMs`, one share at a time, failures ignored (the broker's health reports them).
 * The timer does not keep the process alive. Returns the function that stops it.
 */
export function shareNodeReports(
  sink: { shareStats(report: string): Promise<void> },
  report: () => NodeReport,
  intervalMs: number,
): () => void {
  let busy = false;
  const share = () => {
    if (busy) return;
    busy = true;
    sink
      .shareStats(encodeNodeReport(report()))
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(share, intervalMs);
  timer.unref();
  share();
  return () => clearInterval(timer);
}
