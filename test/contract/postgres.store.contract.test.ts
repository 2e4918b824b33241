import { after } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { startPostgres } from '../support/postgres-server.js';
import { inboxContract } from './inbox-contract.js';
import { storeContract } from './store-contract.js';

const pg = await startPostgres();
after(() => pg.stop());

// Cases use rooms of their own, so they share one database (as nodes of a cluster do).
storeContract('postgres (2 nodes, one database)', async () => ({
  stores: [new PostgresStore({ url: pg.url }), new PostgresStore({ url: pg.url })],
  cleanup: async () => {},
}));

inboxContract('postgres (2 nodes, one database)', async () => ({
  stores: [new PostgresStore({ url: pg.url }), new PostgresStore({ url: pg.url })],
  cleanup: async () => {},
}));
