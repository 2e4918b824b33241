/**
 * A scratch PostgreSQL for the alerts scenario when no --database-url is given: Debian's
 * `initdb` and `postgres` (the newest under /usr/lib/postgresql) in a temp dir, on a free
 * loopback port, run as the `postgres` user, stopped by PID and removed afterwards. Never the
 * machine's own server. (test/support/postgres-server.ts does the same for tests; bench/ is
 * built without test/, so it cannot import it.)
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ServerProcess, spawnServer } from './spawn.js';

/** A PostgreSQL this run started. */
export interface ScratchPostgres {
  url: string;
  proc: ServerProcess;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
}

/** The bin folder of the newest installed PostgreSQL, or null when there is none. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : join(root, versions[0]!, 'bin');
}

/** Starts a PostgreSQL (pinned to `cpus` when given) and waits until it takes logins. */
export async function startScratchPostgres(cpus: string | null): Promise<ScratchPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  const dir = mkdtempSync(join(tmpdir(), 'barrage-bench-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      { uid, gid, stdio: 'ignore', cwd: dir, timeout: 60_000 },
    );
  } catch (err) {
    remove();
    throw err;
  }
  const port = await freePort();
  const argv = [join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', data];
  // fsync stays on: a stored alert is promised durable, so the commit cost is part of the figure.
  argv.push('-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=50');
  const proc = spawnServer(argv, port, cpus, { uid, gid });
  const stop = async (): Promise<void> => {
    await proc.stop(5000);
    remove();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      remove();
      throw new Error(`postgres exited: ${proc.output()}`);
    }
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], {
        stdio: 'ignore',
        timeout: 5000,
      });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`postgres on ${port} not ready in 30 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, proc, stop };
}
