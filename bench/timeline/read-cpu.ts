/**
 * CPU time of segment reads, which holds on a shared machine where wall-clock latency does not:
 * this process's (all threads, so the SQLite worker too) and, for a PostgreSQL on this machine,
 * its backends' serving the bench's database (from /proc; `null` when they cannot be read).
 */
import postgres from 'postgres';
import { procCpuSeconds } from '../stats/proc.js';

/** CPU seconds so far: this process, and the database's backends (null: not measurable). */
export interface CpuMark {
  process: number;
  database: number | null;
}

/** The client backends connected to `url`'s database now (the store's pool), or [] if unknown. */
export async function databaseBackends(url: string | undefined): Promise<number[]> {
  if (!url) return [];
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`;
    return rows.map((r) => r.pid);
  } catch {
    return [];
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export function cpuMark(backends: readonly number[]): CpuMark {
  const own = process.cpuUsage();
  let database: number | null = backends.length > 0 ? 0 : null;
  for (const pid of backends) {
    const s = procCpuSeconds(pid);
    database = s === null || database === null ? null : database + s;
  }
  return { process: (own.user + own.system) / 1e6, database };
}

/** Mean CPU ms per read between two marks: [this process, the database or null]. */
export function cpuPerRead(a: CpuMark, b: CpuMark, reads: number): [number, number | null] {
  const ms = (s: number) => Math.round(((s * 1000) / reads) * 10) / 10;
  const db = a.database === null || b.database === null ? null : ms(b.database - a.database);
  return [ms(b.process - a.process), db];
}
