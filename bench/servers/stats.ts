/**
 * Barrage's own view of a phase, from `GET /api/stats` before and after: messages and frames it
 * sent and what it dropped, summed over the nodes of a cluster. Peers have no such endpoint.
 */

/** Counter differences over a phase, summed over nodes. */
export interface ServerCounters {
  messagesOut: number;
  framesOut: number;
  /** Dropped deliveries by reason (e.g. slow: a lossy message skipped for a full buffer). */
  drops: Record<string, number>;
  /** Connections the server closed, by code. */
  closes: Record<string, number>;
  /**
   * At the end of the phase, the largest over nodes of the p99 of a room batch's wait (its oldest
   * message, from read to write) and of its fan-out span (first member's write to last), ms: the
   * server's part of a delivery's latency, beside what the receivers measure.
   */
  batchWaitP99Ms?: number;
  fanoutSpanP99Ms?: number;
}

interface NodeStats {
  nodeId?: string;
  messagesOut?: number;
  framesOut?: number;
  drops?: Record<string, number>;
  closes?: Record<string, number>;
  fanoutP99Ms?: number;
  fanoutSpanP99Ms?: number;
}

/** Reads the summed counters of every node, or null when the endpoint does not answer. */
export async function readCounters(
  httpUrls: string[],
  apiKey: string | null,
): Promise<ServerCounters | null> {
  const out: ServerCounters = { messagesOut: 0, framesOut: 0, drops: {}, closes: {} };
  // A node may report the whole cluster or only itself: ask every node, count each nodeId once.
  const byNode = new Map<string, NodeStats>();
  for (const url of httpUrls) {
    try {
      const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
      const res = await fetch(`${url}/api/stats`, { headers, signal: AbortSignal.timeout(5000) });
      if (!res.ok) return null;
      const body = (await res.json()) as { nodes?: NodeStats[] };
      for (const [i, node] of (body.nodes ?? []).entries())
        byNode.set(node.nodeId ?? `${url}#${i}`, node);
    } catch {
      return null;
    }
  }
  if (byNode.size === 0) return null;
  for (const node of byNode.values()) {
    out.messagesOut += node.messagesOut ?? 0;
    out.framesOut += node.framesOut ?? 0;
    for (const [k, v] of Object.entries(node.drops ?? {})) out.drops[k] = (out.drops[k] ?? 0) + v;
    for (const [k, v] of Object.entries(node.closes ?? {}))
      out.closes[k] = (out.closes[k] ?? 0) + v;
    if (node.fanoutP99Ms !== undefined)
      out.batchWaitP99Ms = Math.max(out.batchWaitP99Ms ?? 0, node.fanoutP99Ms);
    if (node.fanoutSpanP99Ms !== undefined)
      out.fanoutSpanP99Ms = Math.max(out.fanoutSpanP99Ms ?? 0, node.fanoutSpanP99Ms);
  }
  return out;
}

/** after - before, field by field. */
export function diffCounters(before: ServerCounters, after: ServerCounters): ServerCounters {
  const sub = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = (a[k] ?? 0) - (b[k] ?? 0);
      if (d !== 0) out[k] = d;
    }
    return out;
  };
  return {
    messagesOut: after.messagesOut - before.messagesOut,
    framesOut: after.framesOut - before.framesOut,
    drops: sub(after.drops, before.drops),
    closes: sub(after.closes, before.closes),
    // Recent samples at the end, not differences.
    batchWaitP99Ms: after.batchWaitP99Ms,
    fanoutSpanP99Ms: after.fanoutSpanP99Ms,
  };
}
