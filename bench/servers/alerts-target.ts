/**
 * The alerts scenario's target: a Barrage node with a durable store, since alerts need one
 * (docs/alerts.md). `embedded`: SQLite in a temp directory removed afterwards. `postgres`: the
 * given --database-url, or a scratch PostgreSQL started (and removed) here. The server's CPU
 * figures count the Barrage process only, not PostgreSQL's.
 *
 * Where PostgreSQL runs: in production it is another machine, so it must not take the server's
 * CPU here. A scratch PostgreSQL is pinned to the CPUs the server is NOT pinned to (with --pin:
 * CPU 1, beside the load generator), unpinned when the server is not pinned or no CPU is left.
 * A PostgreSQL at --database-url is not the bench's to place: it runs wherever its owner put it
 * (unpinned, it may share the server's CPU), and the run says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertStore } from '../cli.js';
import { type ScratchPostgres, startScratchPostgres } from './postgres.js';
import { startTarget, type Target, type TargetOptions } from './targets.js';

/** Starts Barrage on `store` (PostgreSQL at `databaseUrl`, or one started here). */
export async function alertsTarget(
  store: AlertStore,
  options: TargetOptions,
  databaseUrl: string | null,
  log: (line: string) => void,
): Promise<Target> {
  let pg: ScratchPostgres | null = null;
  let dataDir: string | null = null;
  const serveArgs = [...options.serveArgs];
  if (store === 'postgres') {
    if (databaseUrl === null) {
      // os.cpus(), not availableParallelism(): the bench has pinned itself to the client CPUs.
      const pgCpus = otherCpus(options.serverCpus, cpus().length);
      log(
        `alerts: scratch PostgreSQL ${pgCpus === null ? 'not pinned' : `pinned to CPU ${pgCpus}`}`,
      );
      pg = await startScratchPostgres(pgCpus);
    } else {
      log('alerts: PostgreSQL at --database-url, placed by its owner (not pinned by the bench)');
    }
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

/**
 * The CPUs (a taskset list) other than `serverCpus` out of `count`, or null when the server is
 * not pinned or it holds every CPU.
 */
export function otherCpus(serverCpus: string | null, count: number): string | null {
  if (serverCpus === null) return null;
  const taken = new Set<number>();
  for (const part of serverCpus.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let c = from!; c <= to!; c++) taken.add(c);
  }
  const left = Array.from({ length: count }, (_, c) => c).filter((c) => !taken.has(c));
  return left.length === 0 ? null : left.join(',');
}
