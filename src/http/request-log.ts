/**
 * One log line per request at debug (method, URL, status, time), and the headers and client
 * address at trace. All of it passes through the logger's redaction, which is what keeps codes in
 * URLs, cookies and Authorization headers out of the log; the logging test runs the whole flow at
 * trace to prove it. Home Assistant user names never reach the log: the user id is shown as a
 * short pseudonym instead (log/redact.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../log/logger.js';
import { pseudonym } from '../log/redact.js';
import type { ApiStep } from './api-request.js';

/** The headers without Home Assistant's user names; the user id as its pseudonym. */
function loggableHeaders(headers: IncomingHttpHeaders): Record<string, unknown> {
  const { 'x-remote-user-name': _name, 'x-remote-user-display-name': _displayName, 'x-remote-user-id': id, ...rest } = headers;
  return typeof id === 'string' ? { ...rest, 'x-remote-user': pseudonym(id) } : rest;
}

export function requestLog(logger: Logger, listener: string): ApiStep {
  return (req, res, next) => {
    if (!logger.enabled('debug')) return next();
    const started = process.hrtime.bigint();
    if (logger.enabled('trace')) logger.trace(`${listener} ${req.method} ${req.originalUrl} from ${req.ip ?? ''}`, { headers: loggableHeaders(req.headers) });
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug(
        `${listener} ${req.method} ${req.originalUrl} → ${res.statusCode} in ${ms.toFixed(1)} ms`,
        res.hasHeader('location') ? { location: res.getHeader('location') } : undefined,
      );
    });
    next();
  };
}
