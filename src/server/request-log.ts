import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A debug line per HTTP request (API call, page, metrics scrape) when its response ends: method,
 * path without the query (a query could carry a secret), status and time. Unwrapped when the
 * logger says debug is off, so a busy API pays nothing for it.
 */
export function withRequestLog(listener: Listener, log: Logger): Listener {
  if (log.isLevelEnabled && !log.isLevelEnabled('debug')) return listener;
  return (req, res) => {
    const started = performance.now();
    res.once('close', () => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      log.debug(
        {
          method: req.method,
          path: q === -1 ? url : url.slice(0, q),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'http request',
      );
    });
    listener(req, res);
  };
}
