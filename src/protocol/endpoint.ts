/** The WebSocket endpoint's path: the gateway upgrades it, the HTTP API answers a plain GET with 426. */
export const WS_PATH = '/ws';

/** The Server-Sent Events stream's path; `${SSE_PATH}/publish` takes socketless publishes. */
export const SSE_PATH = '/sse';
