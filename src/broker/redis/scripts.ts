/** Runs the broker's Lua scripts by SHA1, loading them again when Redis forgot them. */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

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
    args: readonly (string | number)[],
    buffers = false,
  ): Promise<unknown> {
    const tail = [keys.length, ...keys, ...args];
    const call = (command: string, first: string) =>
      buffers ? client.callBuffer(command, first, ...tail) : client.call(command, first, ...tail);
    try {
      return await call('evalsha', this.sha);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return await call('eval', this.source);
    }
  }
}
