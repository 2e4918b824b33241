/**
 * Gathers the cluster-wide `delivered` count of a push.
 *
 * The requesting node publishes the push with a request id and its own node id. PUBLISH (or
 * SPUBLISH on the channel's shard) answers how many subscribers got it: one per node holding the
 * user (or every node, for a broadcast). Each of those nodes hands the push to its handler and
 * replies `REQUEST_ID:COUNT` on the requester's reply channel (the requester itself answers
 * locally). The request resolves with the sum once every expected reply arrived, or with the sum
 * so far when `timeoutMs` (option `pushTimeoutMs`, default 500) runs out: a slow or dying node
 * makes the count low, never the push fail.
 */
import { randomBytes } from 'node:crypto';

interface OpenRequest {
  /** Replies expected (unknown until the publish answered). */
  expected: number | null;
  replies: number;
  delivered: number;
  resolve: ((delivered: number) => void) | null;
  timer: NodeJS.Timeout | null;
}

/** Open push requests of one node. */
export class PushRequests {
  private readonly open = new Map<string, OpenRequest>();
  private readonly seed = randomBytes(4).toString('base64url');
  private seq = 0;

  constructor(private readonly timeoutMs: number) {}

  /** Opens a request before its publish, so that no early reply is lost; returns its id. */
  begin(): string {
    const id = `${this.seed}.${(++this.seq).toString(36)}`;
    this.open.set(id, { expected: null, replies: 0, delivered: 0, resolve: null, timer: null });
    return id;
  }

  /** Forgets a request whose publish failed. */
  cancel(id: string): void {
    this.open.delete(id);
  }

  /** Waits for `expected` replies (or the timeout) and resolves with the connections reached. */
  wait(id: string, expected: number): Promise<number> {
    const request = this.open.get(id);
    if (!request) return Promise.resolve(0);
    request.expected = expected;
    if (request.replies >= expected) return Promise.resolve(this.finish(id, request));
    return new Promise<number>((resolve) => {
      request.resolve = resolve;
      request.timer = setTimeout(() => this.finish(id, request), this.timeoutMs);
    });
  }

  /** Counts one node's reply. Replies to unknown (finished) requests are ignored. */
  reply(id: string, delivered: number): void {
    const request = this.open.get(id);
    if (!request) return;
    request.replies++;
    request.delivered += delivered;
    if (request.expected !== null && request.replies >= request.expected) this.finish(id, request);
  }

  /** Resolves every open request with what it has (on close). */
  finishAll(): void {
    for (const [id, request] of this.open) this.finish(id, request);
  }

  /** Requests still open. */
  get size(): number {
    return this.open.size;
  }

  private finish(id: string, request: OpenRequest): number {
    this.open.delete(id);
    if (request.timer) clearTimeout(request.timer);
    request.resolve?.(request.delivered);
    request.resolve = null;
    return request.delivered;
  }
}
