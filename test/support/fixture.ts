import { after, before } from 'node:test';
import type { CreateServerOptions } from '../../src/server/index.js';
import { TestClient } from './client.js';
import { startServer } from './server.js';
import { signToken } from './tokens.js';

/** A started test server and the clients a suite opened on it, closed after the suite. */
export interface ServerFixture {
  readonly server: Awaited<ReturnType<typeof startServer>>;
  /** Connects a raw client (with an optional `?query`), closed after the suite. */
  connect(query?: string): Promise<TestClient>;
  /** Connects a client authenticated by `?token=` as `user`, with extra token claims. */
  connectAs(user: string, claims?: Record<string, unknown>): Promise<TestClient>;
  /** Clients opened so far. */
  readonly clients: TestClient[];
}

/** Registers `before`/`after` hooks that start a server with `options` and close it and its clients. */
export function useServer(options: CreateServerOptions = {}): ServerFixture {
  let started: Awaited<ReturnType<typeof startServer>> | null = null;
  const clients: TestClient[] = [];
  const fixture: ServerFixture = {
    get server() {
      if (!started) throw new Error('the server starts in before()');
      return started;
    },
    clients,
    async connect(query = '') {
      const client = await TestClient.connect(fixture.server.wsUrl + query);
      clients.push(client);
      return client;
    },
    async connectAs(user, claims = {}) {
      return fixture.connect(`?token=${await signToken(user, claims)}`);
    },
  };
  before(async () => {
    started = await startServer(options);
  });
  after(async () => {
    for (const client of clients) client.close();
    await started?.close();
  });
  return fixture;
}
