import { BarrageClient } from './client.js';
import type { ClientOptions } from './options.js';

/** Creates a client that connects (and reconnects) in the background. */
export function createClient(url: string, options: ClientOptions = {}): BarrageClient {
  return new BarrageClient(url, options);
}

/**
 * Connects and resolves once authenticated. Fails fast, and closes the client, when the first
 * attempt fails: with the cause when the socket never opened (connection refused, HTTP 404 for a
 * wrong path, ...), with the very error `getToken` threw, or when the server refuses for good;
 * with `timeout` after `timeoutMs`.
 */
export async function connect(url: string, options: ClientOptions = {}): Promise<BarrageClient> {
  const client = new BarrageClient(url, options);
  let stop = () => {};
  const failed = new Promise<never>((_, reject) => {
    stop = client.on('close', ({ error }) => {
      if (!error) return;
      // A throwing getToken: the app's own error, as thrown.
      reject(error.cause !== undefined ? error.cause : error);
    });
  });
  try {
    await Promise.race([client.ready(options.timeoutMs ?? 15_000), failed]);
  } catch (err) {
    client.close();
    throw err;
  } finally {
    stop();
  }
  return client;
}
