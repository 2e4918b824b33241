/**
 * Finds and reads the Lua scripts of `lua/`. They are plain files, not strings in code, so they
 * can be read and tested as Lua. `tsc` does not copy them to `dist/`, so this looks next to the
 * running module first (`src/broker/redis/lua/` under tsx) and then in the package's own
 * `src/broker/redis/lua/` (from `dist/src/broker/redis/`, which package.json "files" ships).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['./lua/', '../../../../src/broker/redis/lua/'];

/** The directory holding the Lua scripts; throws with the places it looked when not found. */
export function luaDirectory(base: string | URL = import.meta.url): string {
  const tried: string[] = [];
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, base));
    if (existsSync(`${dir}publish.lua`)) return dir;
    tried.push(dir);
  }
  throw new Error(`Redis broker Lua scripts not found; looked in ${tried.join(', ')}`);
}

/** The scripts the broker runs, by name. */
export interface LuaScripts {
  publish: string;
  history: string;
  /** Renews an empty room's meta (see touch.lua). */
  touch: string;
}

let cached: LuaScripts | null = null;

/** Reads every script once per process. */
export function loadLuaScripts(): LuaScripts {
  if (!cached) {
    const dir = luaDirectory();
    cached = {
      publish: readFileSync(`${dir}publish.lua`, 'utf8'),
      history: readFileSync(`${dir}history.lua`, 'utf8'),
      touch: readFileSync(`${dir}touch.lua`, 'utf8'),
    };
  }
  return cached;
}
