/**
 * One log line per request at debug (method, URL, status, time), and the headers at trace. All
 * of it passes through the logger's redaction, which is what keeps codes in URLs, cookies and
 * Authorization headers out of the log; the logging test runs the whole flow at trace to prove it.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';

export function requestLog(logger: Logger, listener: string): RequestHandler {
  return (req, res, next) => {
    if (!logger.enabled('debug')) return next();
    const started = process.hrtime.bigint();
    if (logger.enabled('trace')) logger.trace(`${listener} ${req.method} ${req.originalUrl} headers`, { headers: req.headers });
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug(`${listener} ${req.method} ${req.originalUrl} → ${res.statusCode} in ${ms.toFixed(1)} ms`, {
        ip: req.ip,
        ...(res.get('location') ? { location: res.get('location') } : {}),
      });
    });
    next();
  };
}
