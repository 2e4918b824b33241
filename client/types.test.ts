import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WsWebSocket from 'ws';
import type { WebSocketConstructor } from './index.js';

describe('WebSocketConstructor', () => {
  it("accepts the browser's WebSocket and ws's (checked by the type checker)", () => {
    // Compile-time checks: both constructors must fit the option type without casts.
    const fromBrowser: WebSocketConstructor | undefined = (globalThis as typeof globalThis)
      .WebSocket;
    const fromWs: WebSocketConstructor = WsWebSocket;
    assert.equal(typeof fromWs, 'function');
    // Node 20 has no global WebSocket (Node 22 does); either way the type fits.
    assert.ok(fromBrowser === undefined || typeof fromBrowser === 'function');
  });
});
