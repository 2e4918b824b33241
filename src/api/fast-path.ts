/**
 * The fast path of the hot API calls (`POST /api/push`, `POST /api/publish`): served straight
 * from `node:http` instead of through hono's Node adapter, which builds a Web `Request` (with a
 * `ReadableStream` body and an `AbortSignal`) and a `Response` for every call and cost about 7x
 * the engine's own work (docs/performance.md, "The HTTP API path").
 *
 * It runs the router's checks, in the router's order, through the same functions: cross-site
 * (cross-site.ts), the key and `authorizeApi` (guard.ts), the media type, the body limit, the
 * JSON object and the schema (validate.ts), then the call itself (json-call.ts), and answers
 * with the router's headers (a probe of its middleware, `AnswerHeaders`) and error bodies
 * (errors.ts). A valid body is recognised by the call's `accept` (accept.ts) before zod is asked,
 * and a key already accepted on the same keep-alive connection is not hashed again (guard.ts).
 * Anything else, including these paths with a query string or another method, goes
 * to the router. test/server/http-fast-path.test.ts holds the two to the same bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Node } from '../node/index.js';
import { type HeaderOf, mediaTypeRefusal } from './cross-site.js';
import { type ApiRefusal, errorText, refusalOf, STATUS_OF } from './errors.js';
import type { GuardedRequest } from './guard.js';
import type { JsonCall } from './json-call.js';
import {
  type AnswerHeaders,
  drainAfterAnswer,
  headersOf,
  RequestHeaders,
  readBody,
} from './raw-http.js';
import { requestIdOf } from './request-id.js';
import { checkFields, parseJsonObject } from './validate.js';

/** What the fast path shares with the router (app.ts builds both from ApiOptions). */
export interface FastPathOptions {
  node: Node;
  calls: readonly JsonCall[];
  /** The router's cross-site check. */
  crossSite: (header: HeaderOf) => string | null;
  /** The router's key and `authorizeApi` check. */
  guard: (request: GuardedRequest) => Promise<ApiRefusal | null>;
  maxBodyBytes: number;
  headers: AnswerHeaders;
  log: Logger;
}

/** Decodes bodies as the router does (`TextDecoder`: a UTF-8 BOM is dropped). */
const utf8 = new TextDecoder();

/**
 * Returns a listener that serves a request when it is a fast-path call (then true) and leaves
 * it alone otherwise (false).
 */
export function createFastPath(
  options: FastPathOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const calls = new Map(options.calls.map((call) => [call.path, call]));
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const call = calls.get(req.url ?? '');
    if (!call) return false;
    void serve(options, call, req, res);
    return true;
  };
}

async function serve(
  options: FastPathOptions,
  call: JsonCall,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const raw = req.rawHeaders;
  const headers = new RequestHeaders(raw);
  const header: HeaderOf = (name) => headers.get(name);
  const requestId = requestIdOf(header('x-request-id'));
  const refuse = (code: ApiRefusal['code'], message: string): void => {
    drainAfterAnswer(req, res);
    options.headers.answer(res, STATUS_OF[code], requestId, errorText(code, message));
  };
  try {
    const crossSite = options.crossSite(header);
    if (crossSite !== null) return refuse('forbidden', crossSite);
    const guarded = await options.guard({
      method: 'POST',
      path: call.path,
      peer: req.socket.remoteAddress,
      connection: req.socket,
      header,
      headers: () => headersOf(raw),
    });
    if (guarded) return refuse(guarded.code, guarded.message);
    const mediaType = mediaTypeRefusal(header('content-type'));
    if (mediaType !== null) return refuse('unsupported_media_type', mediaType);
    const read = await readBody(req, options.maxBodyBytes, header);
    if (!read.ok) {
      if (read.reason === 'too_large')
        return refuse('too_large', `body over ${options.maxBodyBytes} bytes`);
      return refuse('bad_request', 'body must be JSON');
    }
    const parsed = parseJsonObject(utf8.decode(read.body));
    if (!parsed.ok) return refuse('bad_request', parsed.message);
    // A valid body passes the call's own check; zod judges the rest and names what is wrong.
    let data = call.accept?.(parsed.value) ?? null;
    if (data === null) {
      const fields = await checkFields(call.schema, parsed.value);
      if (!fields.ok) return refuse('bad_request', fields.message);
      data = fields.data;
    }
    const answer = await call.run(options.node, data);
    options.headers.answer(res, 200, requestId, JSON.stringify(answer));
  } catch (err) {
    const request = { requestId, method: 'POST', path: call.path };
    const { code, message } = refusalOf(err, options.log, request);
    refuse(code, message);
  }
}
