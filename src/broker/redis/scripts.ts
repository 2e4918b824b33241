/** Runs the broker's Lua scripts by SHA1, loading them again when Redis forgot them. */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

type Arg = string | number;

/**
 * The script commands as ioredis generates them at runtime. `evalshaBuffer` is not in its typings;
 * `callBuffer('evalsha', ...)` is not an option: with auto-pipelining on, ioredis 5.11 drops the
 * command name of `callBuffer` (only `call` is special-cased), so Redis gets the SHA as a command.
 */
interface ScriptCommands {
  evalsha(sha: string, ...args: Arg[]): Promise<unknown>;
  evalshaBuffer(sha: string, ...args: Arg[]): Promise<unknown>;
  eval(source: string, ...args: Arg[]): Promise<unknown>;
  evalBuffer(source: string, ...args: Arg[]): Promise<unknown>;
}

/** One Lua script, run with EVALSHA and, on NOSCRIPT (a restarted Redis), EVAL. */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script. With `buffers`, bulk replies come back as Buffers (no string decoding).
   * In Cluster mode the client routes it to the slot of `keys` (which must share one slot).
   */
  async run(
    client: Redis | Cluster,
    keys: readonly string[],
    args: readonly Arg[],
    buffers = false,
  ): Promise<unknown> {
    const c = client as unknown as ScriptCommands;
    const tail: Arg[] = [keys.length, ...keys, ...args];
    try {
      return buffers
        ? await c.evalshaBuffer(this.sha, ...tail)
        : await c.evalsha(this.sha, ...tail);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return buffers
        ? await c.evalBuffer(this.source, ...tail)
        : await c.eval(this.source, ...tail);
    }
  }
}
