/**
 * Real PostgreSQL servers for tests: Debian's `initdb` and `postgres` (under
 * /usr/lib/postgresql/VERSION/bin) in a temp dir, on a free loopback port, run as the `postgres`
 * user (the tests run as root, which PostgreSQL refuses). Killed by PID; the data directory
 * survives a kill, so `restart()` brings back what was committed. Never the system server on 5432.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tracked } from './children.js';
import { freePort } from './redis-server.js';

/** A PostgreSQL server the test owns. */
export interface PostgresProcess {
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  /** Kills the server (SIGKILL: no clean shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory (committed rows survive). */
  restart(): Promise<void>;
  /** Kills it for good and removes its directory. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** The bin folder of the newest installed PostgreSQL. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return join(root, versions[0]!, 'bin');
}

function ids(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Settings of a test server beyond the defaults (`-c name=value`). */
export interface PostgresSettings {
  /** e.g. `{ shared_buffers: '512MB' }` for a benchmark that reads a big table. */
  settings?: Record<string, string>;
}

function spawnPostgres(
  bin: string,
  data: string,
  port: number,
  extra: Record<string, string>,
): ChildProcess {
  const { uid, gid } = ids();
  const args = ['-D', data, '-p', String(port), '-k', data, '-c', `listen_addresses=${HOST}`];
  // fsync stays on: the fault tests kill the server and count on what was committed.
  args.push('-c', 'max_connections=50', '-c', 'shared_buffers=32MB');
  for (const [name, value] of Object.entries(extra)) args.push('-c', `${name}=${value}`);
  const child = spawn(join(bin, 'postgres'), args, {
    uid,
    gid,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return tracked(child);
}

/** Whether something answers TCP on the port (PostgreSQL opens it once it accepts logins). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function ready(bin: string, data: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`postgres on ${port} exited`);
    if (await answers(port)) {
      try {
        execFileSync(join(bin, 'pg_isready'), ['-h', HOST, '-p', String(port)], {
          stdio: 'ignore',
        });
        return;
      } catch {
        // still starting (or recovering after a kill)
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for postgres on ${port} (${data})`);
}

async function killChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await exited;
}

/** Creates a cluster with `initdb` (trust auth, user postgres) and starts it on a free port. */
export async function startPostgres(options: PostgresSettings = {}): Promise<PostgresProcess> {
  const extra = options.settings ?? {};
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'barrage-pg-'));
  const { uid, gid } = ids();
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    { uid, gid, stdio: 'ignore', cwd: dir },
  );
  let port = 0;
  // A free port can be taken by a parallel test before postgres binds it: try new ones.
  let child: ChildProcess | null = await startReady(bin, data, extra, 5, 0, async () => {
    port = await freePort();
    return port;
  });
  const kill = async () => {
    await killChild(child);
    child = null;
    // A SIGKILLed postmaster leaves its backends to notice; they exit within moments.
    rmSync(join(data, 'postmaster.pid'), { force: true });
  };
  return {
    port,
    url: `postgres://postgres@${HOST}:${port}/postgres`,
    kill,
    async restart() {
      await kill();
      // The same port: the old backends may hold it for a moment after the kill.
      child = await startReady(bin, data, extra, 21, 200, async () => port);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts postgres on `nextPort()` until one start is ready, `attempts` at most, `delayMs` apart. */
async function startReady(
  bin: string,
  data: string,
  extra: Record<string, string>,
  attempts: number,
  delayMs: number,
  nextPort: () => Promise<number>,
): Promise<ChildProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await nextPort();
    const started = spawnPostgres(bin, data, port, extra);
    try {
      await ready(bin, data, port, started);
      return started;
    } catch (err) {
      await killChild(started);
      if (attempt >= attempts) throw err;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
