import { resolve } from 'node:path';
import { type ServerConfig, storeKind } from '../config/index.js';
import type { Logger } from '../log.js';
import { batchesInFlight, StoreArchive } from '../store/archive.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { SEGMENT_MAX_AGE_S, type Store } from '../store/types.js';

/**
 * The store the config asks for (`--store`, `auto` resolved), not yet started; null for none.
 * Each backend is loaded only when chosen, so a server without a store never loads a driver.
 */
export async function pickStore(config: ServerConfig): Promise<Store | null> {
  switch (storeKind(config)) {
    case 'none':
      return null;
    case 'postgres': {
      const { PostgresStore } = await import('../store/postgres/store.js');
      return new PostgresStore({ url: config.databaseUrl });
    }
    case 'embedded': {
      const { SqliteStore } = await import('../store/sqlite/store.js');
      return new SqliteStore(resolve(config.dataDir));
    }
  }
}

/** Starts the store and wraps it in the engine's archive (policies, bounded batched writer). */
export async function openArchive(
  config: ServerConfig,
  store: Store,
  log: Logger,
): Promise<StoreArchive> {
  await store.start();
  log.info(
    { store: store.kind, ...(store.kind === 'sqlite' ? { dataDir: resolve(config.dataDir) } : {}) },
    'store open',
  );
  return new StoreArchive(store, {
    timelineRooms: config.timelineRooms,
    storedRooms: config.storedRooms,
    queueSize: config.storeQueueSize,
    flushMs: config.storeFlushMs,
    maxInFlight: batchesInFlight(store.kind),
    retentionDays: config.storeRetentionDays,
    segmentCache: {
      maxBytes: config.timelineCacheBytes,
      segmentMs: config.timelineSegmentMs,
      ttlMs: SEGMENT_MAX_AGE_S * 1000,
    },
  });
}

/**
 * `barrage db migrate`: opens the configured store (which applies pending migrations) and closes
 * it; null when no store is configured.
 */
export async function migrateStore(
  config: ServerConfig,
): Promise<{ kind: string; version: number } | null> {
  const store = await pickStore(config);
  if (!store) return null;
  await store.start();
  await store.close();
  return { kind: store.kind, version: SCHEMA_VERSION };
}
