import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeStats } from '../node/index.js';
import { PrometheusMetrics } from './prometheus.js';

function stats(rooms: number): NodeStats {
  return {
    nodeId: 'n1',
    broker: 'memory',
    uptimeMs: 1,
    connections: 2,
    rooms,
    users: 1,
    messagesIn: 3,
    messagesOut: 4,
    framesOut: 5,
    pushes: 0,
    drops: { slow: 1, sampled: 0 },
    closes: { '1000': 2, '4xxx': 7 },
    stalledCloses: 6,
    errors: {},
    moderationActions: {},
    moderationRefusals: {},
    brokerState: { streams: 1, streamsCreated: 9 },
    fanoutP99Ms: 0,
    fanoutSpanP99Ms: 0,
    topRooms: [
      {
        room: 'a',
        members: 2,
        messagesIn: 3,
        rate: 1,
        mergeRatio: 1,
        droppedSlow: 1,
        sampledOut: 0,
      },
    ],
    store: null,
    alerts: { stored: 0, delivered: 0, acked: 0, expired: 0, collapsed: 0, dropped: 0 },
  };
}

describe('PrometheusMetrics', () => {
  it('reads one stats snapshot per scrape, and every series from it', async () => {
    let reads = 0;
    const metrics = new PrometheusMetrics(() => stats(++reads), { node: 'n1' });
    const first = await metrics.exposition();
    assert.equal(reads, 1);
    assert.match(first.body, /^barrage_rooms\{node="n1"\} 1$/m);
    assert.match(first.body, /^barrage_room_members\{room="a",node="n1"\} 2$/m);
    assert.match(first.body, /^barrage_closes_total\{code="4xxx",node="n1"\} 7$/m);
    assert.match(first.body, /^barrage_broker_streams_created_total\{node="n1"\} 9$/m);
    // Two scrapes at once share nothing stale: each reads its own, then the next reads afresh.
    await Promise.all([metrics.exposition(), metrics.exposition()]);
    const later = await metrics.exposition();
    assert.ok(reads <= 4, `${reads} reads for 4 scrapes`);
    assert.match(later.body, new RegExp(`^barrage_rooms\\{node="n1"\\} ${reads}$`, 'm'));
  });

  it('exposes the fan-out histograms with every observation in its bucket, sum and count', async () => {
    const metrics = new PrometheusMetrics(() => stats(1), { node: 'n1' });
    const empty = (await metrics.exposition()).body;
    assert.match(empty, /^barrage_frame_messages_count\{node="n1"\} 0$/m);
    for (const [waitedMs, messages] of [
      [0, 1],
      [0.7, 1],
      [3, 2],
      [2000, 600],
    ] as const) {
      metrics.fanout(waitedMs, messages);
    }
    const body = (await metrics.exposition()).body;
    const line = (name: string, value: number) =>
      assert.match(body, new RegExp(`^${name.replace(/[{}+.]/g, '\\$&')} ${value}$`, 'm'), name);
    line('barrage_fanout_latency_seconds_bucket{le="0.0005",node="n1"}', 1);
    line('barrage_fanout_latency_seconds_bucket{le="0.001",node="n1"}', 2);
    line('barrage_fanout_latency_seconds_bucket{le="0.005",node="n1"}', 3);
    line('barrage_fanout_latency_seconds_bucket{le="1",node="n1"}', 3);
    line('barrage_fanout_latency_seconds_bucket{le="+Inf",node="n1"}', 4);
    line('barrage_fanout_latency_seconds_count{node="n1"}', 4);
    line('barrage_fanout_latency_seconds_sum{node="n1"}', 2.0037);
    line('barrage_frame_messages_bucket{le="1",node="n1"}', 2);
    line('barrage_frame_messages_bucket{le="2",node="n1"}', 3);
    line('barrage_frame_messages_bucket{le="500",node="n1"}', 3);
    line('barrage_frame_messages_bucket{le="+Inf",node="n1"}', 4);
    line('barrage_frame_messages_sum{node="n1"}', 604);
    // A later scrape shows the totals again, not twice.
    assert.match(
      (await metrics.exposition()).body,
      /^barrage_frame_messages_count\{node="n1"\} 4$/m,
    );
  });

  it('ignores non-finite observations in the fan-out histograms', async () => {
    const metrics = new PrometheusMetrics(() => stats(1), { node: 'n1' });
    metrics.fanout(2, 3);
    metrics.fanout(Number.NaN, Number.NaN);
    metrics.fanout(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    const body = (await metrics.exposition()).body;
    assert.match(body, /^barrage_fanout_latency_seconds_count\{node="n1"\} 1$/m);
    assert.match(body, /^barrage_fanout_latency_seconds_sum\{node="n1"\} 0\.002$/m);
    assert.match(body, /^barrage_frame_messages_bucket\{le="1",node="n1"\} 0$/m);
    assert.match(body, /^barrage_frame_messages_sum\{node="n1"\} 3$/m);
  });

  it('exposes the alert timings per stage, a stage only once it was observed', async () => {
    const metrics = new PrometheusMetrics(() => stats(1), { node: 'n1' });
    assert.doesNotMatch((await metrics.exposition()).body, /^barrage_alert_seconds_count/m);
    metrics.alertTiming('delivery', 3);
    metrics.alertTiming('delivery', 700);
    metrics.alertTiming('delivery', Number.NaN);
    let body = (await metrics.exposition()).body;
    const count = (stage: string) =>
      new RegExp(`^barrage_alert_seconds_count\\{node="n1",stage="${stage}"\\} (\\d+)$`, 'm').exec(
        body,
      )?.[1];
    assert.equal(count('delivery'), '2');
    assert.equal(count('ack'), undefined, 'no ack observed yet: no ack series');
    assert.match(
      body,
      /^barrage_alert_seconds_bucket\{le="0\.005",node="n1",stage="delivery"\} 1$/m,
    );
    assert.match(body, /^barrage_alert_seconds_bucket\{le="1",node="n1",stage="delivery"\} 2$/m);
    assert.match(body, /^barrage_alert_seconds_sum\{node="n1",stage="delivery"\} 0\.703$/m);
    metrics.alertTiming('ack', 20);
    body = (await metrics.exposition()).body;
    assert.equal(count('delivery'), '2', 'a later scrape shows the totals again, not twice');
    assert.equal(count('ack'), '1');
    assert.match(body, /^barrage_alert_seconds_bucket\{le="0\.01",node="n1",stage="ack"\} 0$/m);
    assert.match(body, /^barrage_alert_seconds_bucket\{le="0\.02",node="n1",stage="ack"\} 1$/m);
    metrics.registry.resetMetrics();
    body = (await metrics.exposition()).body;
    assert.doesNotMatch(body, /^barrage_alert_seconds_count/m, 'reset: nothing observed since');
  });

  it('zeroes the fan-out histograms when the registry is reset', async () => {
    const metrics = new PrometheusMetrics(() => stats(1), { node: 'n1' });
    metrics.fanout(2, 3);
    metrics.registry.resetMetrics();
    let body = (await metrics.exposition()).body;
    assert.match(body, /^barrage_fanout_latency_seconds_count\{node="n1"\} 0$/m);
    assert.match(body, /^barrage_frame_messages_sum\{node="n1"\} 0$/m);
    metrics.fanout(0.7, 1);
    body = (await metrics.exposition()).body;
    assert.match(body, /^barrage_frame_messages_count\{node="n1"\} 1$/m);
    assert.match(body, /^barrage_frame_messages_bucket\{le="1",node="n1"\} 1$/m);
  });
});
