import { ReplyError } from './errors.js';

/**
 * Encodes a payload to JSON text once, refusing what cannot be encoded with `bad_request` (a value
 * nested deeper than the stack allows, a BigInt, a cycle from a hook) rather than failing as an
 * internal error.
 */
export function encodeData(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    const why = err instanceof RangeError ? 'it is nested too deeply' : (err as Error).message;
    throw new ReplyError('bad_request', `"data" cannot be encoded: ${why}`);
  }
  if (json === undefined) throw new ReplyError('bad_request', '"data" must be a JSON value');
  return json;
}
