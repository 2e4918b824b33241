import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSE } from '../protocol/index.js';
import {
  closeCodeKey,
  clusterNodeReports,
  decodeNodeReports,
  encodeNodeReport,
  type NodeReport,
  withTotals,
} from './stats.js';

function report(nodeId: string, connections: number): NodeReport {
  return {
    nodeId,
    broker: 'redis',
    uptimeMs: 1,
    connections,
    rooms: 1,
    users: 0,
    messagesIn: 2,
    messagesOut: 3,
    framesOut: 4,
    pushes: 0,
    drops: { slow: 0, sampled: 0 },
    closes: {},
    errors: {},
    moderationActions: {},
    moderationRefusals: {},
    brokerState: { streams: 1, streamsCreated: 1 },
    stalledCloses: 0,
    store: null,
    alerts: { stored: 0, delivered: 0, acked: 0, expired: 0, collapsed: 0, dropped: 0 },
    fanoutP99Ms: 0,
    fanoutSpanP99Ms: 0,
    topRooms: [],
    eventLoopP99Ms: 0,
    rssBytes: 1,
  };
}

describe('closeCodeKey', () => {
  it('keeps standard and catalogue codes, and buckets the codes clients choose', () => {
    for (const code of [1000, 1001, 1005, 1006, 1011, ...Object.values(CLOSE).map((c) => c.code)])
      assert.equal(closeCodeKey(code), String(code));
    assert.equal(closeCodeKey(3000), '3xxx');
    assert.equal(closeCodeKey(3999), '3xxx');
    assert.equal(closeCodeKey(4100), '4xxx');
    assert.equal(closeCodeKey(4999), '4xxx');
    assert.equal(closeCodeKey(2000), 'other');
    assert.equal(closeCodeKey(5000), 'other');
  });
});

describe('cluster reports', () => {
  it('decode what was encoded, with its age, and leave malformed ones out', () => {
    const text = encodeNodeReport(report('b', 2), 1000);
    const [decoded, ...rest] = decodeNodeReports(
      [text, 'not json', '{"nodeId":"c"}', 'null', JSON.stringify({ connections: 1 })],
      1250,
    );
    assert.deepEqual(rest, []);
    assert.deepEqual(decoded, { ...report('b', 2), ageMs: 250 });
  });

  it('put this node first, keep each node once, and sum the totals', () => {
    const others = [report('b', 2), report('a', 9), report('c', 3)].map((r) => encodeNodeReport(r));
    const answer = withTotals(clusterNodeReports(report('a', 1), others));
    assert.deepEqual(
      answer.nodes.map((n) => [n.nodeId, n.connections]),
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
    );
    assert.equal(answer.nodes[0]!.ageMs, undefined, 'this node is fresh');
    assert.deepEqual(answer.totals, {
      nodes: 3,
      connections: 6,
      rooms: 3,
      messagesIn: 6,
      messagesOut: 9,
      framesOut: 12,
    });
  });
});
