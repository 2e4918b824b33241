import {
  type BarrageServer,
  type CreateServerOptions,
  createServer,
} from '../../src/server/index.js';

/** Starts a real server on a free loopback port with quiet logs; close it in `after`. */
export async function startServer(
  options: CreateServerOptions = {},
): Promise<BarrageServer & { wsUrl: string }> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    // No store unless a test asks for one: parallel tests must not share ./data.
    store: 'none',
    ...options,
  });
  await server.listen();
  return Object.assign(server, { wsUrl: `${server.url.replace('http', 'ws')}/ws` });
}

/** Calls the HTTP API and returns status and parsed JSON body. */
export async function api(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/** Waits until `check` returns true, polling; throws with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
