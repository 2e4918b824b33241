import { BarrageClient } from './client.js';
import type { ClientOptions } from './options.js';

/** Creates a client that connects (and reconnects) in the background. */
export function createClient(url: string, options: ClientOptions = {}): BarrageClient {
  return new BarrageClient(url, options);
}

/** Connects and resolves once authenticated; rejects (and closes) on refusal or timeout. */
export async function connect(url: string, options: ClientOptions = {}): Promise<BarrageClient> {
  const client = new BarrageClient(url, options);
  try {
    await client.ready(options.timeoutMs ?? 15_000);
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}
