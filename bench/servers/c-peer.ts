/**
 * The C epoll peer (bench/peers/c-epoll-server.c) is built here, at bench time, with the
 * system's `cc -O2` into a cache directory keyed by the source's hash; no binary is committed.
 * Without a C compiler the peer is unavailable and the bench skips it, saying why.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './spawn.js';

/** The built peer, or why there is none. */
export type CPeerBuild = { ok: true; path: string } | { ok: false; reason: string };

let cached: CPeerBuild | null = null;

/** The C source of the peer (read from the repository: the build does not copy .c files). */
export function cPeerSource(): string {
  return join(repoRoot(), 'bench', 'peers', 'c-epoll-server.c');
}

/** Builds the peer once per process (reusing an earlier build of the same source). */
export function buildCPeer(): CPeerBuild {
  cached ??= build();
  return cached;
}

function build(): CPeerBuild {
  const src = cPeerSource();
  if (!existsSync(src)) return { ok: false, reason: `source not found: ${src}` };
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'barrage-bench-peers');
  const path = join(dir, `c-epoll-server-${hash}`);
  if (existsSync(path)) return { ok: true, path };
  mkdirSync(dir, { recursive: true });
  // Built under a private name and renamed: two benches building at once never see half a file.
  const partial = `${path}.${process.pid}.tmp`;
  const r = spawnSync('cc', ['-O2', '-o', partial, src], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, reason: missing ? 'no C compiler (cc) on PATH' : r.error.message };
  }
  if (r.status !== 0) {
    rmSync(partial, { force: true });
    return { ok: false, reason: `cc failed: ${(r.stderr ?? '').trim().slice(0, 500)}` };
  }
  renameSync(partial, path);
  return { ok: true, path };
}
