/**
 * The alerts scenario's target: a Barrage node with a durable store, since alerts need one
 * (docs/alerts.md). `embedded`: SQLite in a temp directory removed afterwards. `postgres`: the
 * given --database-url, or a scratch PostgreSQL started (and removed) here. The server's CPU
 * figures count the Barrage process only, not PostgreSQL's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertStore } from '../cli.js';
import { type ScratchPostgres, startScratchPostgres } from './postgres.js';
import { startTarget, type Target, type TargetOptions } from './targets.js';

/** Starts Barrage on `store` (PostgreSQL at `databaseUrl`, or one started here). */
export async function alertsTarget(
  store: AlertStore,
  options: TargetOptions,
  databaseUrl: string | null,
): Promise<Target> {
  let pg: ScratchPostgres | null = null;
  let dataDir: string | null = null;
  const serveArgs = [...options.serveArgs];
  if (store === 'postgres') {
    if (databaseUrl === null) pg = await startScratchPostgres(options.serverCpus);
    serveArgs.push('--store', 'postgres', '--database-url', databaseUrl ?? pg!.url);
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'barrage-bench-store-'));
    serveArgs.push('--store', 'embedded', '--data-dir', dataDir);
  }
  const cleanup = async (): Promise<void> => {
    await pg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let target: Target;
  try {
    target = await startTarget('barrage', { ...options, serveArgs });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    ...target,
    name: `barrage (${store})`,
    stop: async () => {
      await target.stop();
      await cleanup();
    },
  };
}
