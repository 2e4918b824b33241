import type { Hono } from 'hono';
import type { z } from 'zod';
import type { Node } from '../node/index.js';
import { jsonBody } from './validate.js';

/**
 * A `POST` route that takes a JSON object and answers one: its path, its body's schema and what it
 * does with a valid body. Defined once, served by the router (`jsonRoute`) and, for the hot ones,
 * by the fast path (fast-path.ts) with the same checks in the same order.
 */
export interface JsonCall<S extends z.ZodObject = z.ZodObject> {
  readonly path: string;
  readonly schema: S;
  /**
   * A valid body recognised without zod (accept.ts), or null to let the schema judge it (and name
   * what is wrong). The fast path asks this first; the schema stays the rule.
   */
  readonly accept?: (body: Record<string, unknown>) => z.output<S> | null;
  /** Runs the call; a `ReplyError` answers its code, anything else is a 500. */
  run(node: Node, body: z.output<S>): Promise<Record<string, unknown>>;
}

/** Registers `call` on the router: validated body, then the call's answer as JSON with 200. */
export function jsonRoute<S extends z.ZodObject>(app: Hono, node: Node, call: JsonCall<S>): void {
  app.post(call.path, jsonBody(call.schema), async (c) => {
    const body = c.req.valid('json');
    return c.json(await call.run(node, body));
  });
}
