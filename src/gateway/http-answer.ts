import type { IncomingMessage, ServerResponse } from 'node:http';

/** A refusal answered in plain HTTP with the API's error body. */
export interface HttpRefusal {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** Answers `{"error":{"code","message"}}` with the refusal's status (and `Allow` for a 405). */
export function answer(res: ServerResponse, refusal: HttpRefusal, allow?: string): void {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
  res.writeHead(refusal.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...(allow ? { Allow: allow } : {}),
    ...refusal.headers,
  });
  res.end(body);
}

/** Answers a JSON body with a status. */
export function answerJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}
