/**
 * HTTP plumbing shared by the OAuth endpoints: no-store headers, RFC 6749 §5.2 error bodies,
 * rate limits, and one error handler that turns anything thrown into a well-formed 4xx (or, for
 * a real fault, a 500 that says nothing about the fault).
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { accessSync, constants } from 'node:fs';
import { rateLimit } from 'express-rate-limit';
import { OAuthError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { ClientAuthError } from './clients.js';

/** RFC 6749 §5.1: token responses must not be cached. */
export function noStore(res: Response): void {
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

export function sendOAuthError(res: Response, error: OAuthError): void {
  noStore(res);
  if (error instanceof ClientAuthError && error.basic) res.set('WWW-Authenticate', 'Basic realm="alexa-link", charset="UTF-8"');
  if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
  res.status(error.status).json(error.toJSON());
}

/** Errors of body-parser and serve-static carry a 4xx status (and a type); keep the status, use invalid_request. */
function clientError(error: unknown): OAuthError | undefined {
  const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const descriptions: Record<string, string> = {
    'entity.too.large': 'the request body is too large',
    'parameters.too.many': 'too many parameters',
    'charset.unsupported': 'the request body must be UTF-8',
    'encoding.unsupported': 'unsupported content encoding',
    'form.not.utf8': 'the request body must be UTF-8 form encoding',
  };
  if (status === 404) return new OAuthError('invalid_request', 'not found', 404);
  return new OAuthError('invalid_request', (typeof type === 'string' && descriptions[type]) || 'the request could not be read', status);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `verify` hook of the form parser: the raw body must be UTF-8 and every percent-escape must
 * decode to UTF-8 (RFC 6749 Appendix B). The parser itself would keep "%FF" as literal text or
 * decode other charsets; we refuse both before any handler sees a value.
 */
export function verifyUtf8Form(req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, body: Buffer): void {
  const invalid = (): Error => Object.assign(new Error('form body is not UTF-8'), { status: 400, type: 'form.not.utf8' });
  const charset = /;\s*charset=("?)([^";]+)\1/i.exec(String(req.headers['content-type'] ?? ''))?.[2];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw invalid();
  try {
    for (const piece of UTF8.decode(body).split(/[&=]/)) decodeURIComponent(piece.replace(/\+/g, ' '));
  } catch {
    throw invalid();
  }
}

/**
 * Storage that cannot write right now (disk full, read-only, I/O error, locked): a 503 the client
 * may retry, never a 500 and never an answer that makes Alexa unlink. Returns the SQLite code.
 */
export function storageFault(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|PROTOCOL)/.test(code) ? code : undefined;
}

/**
 * The log line for a storage fault. A write refused on an open connection arrives as an I/O error
 * (SQLITE_IOERR_WRITE/FSYNC), not SQLITE_READONLY, so the folder itself is asked whether it is
 * writable to name the real cause.
 */
export function storageFaultMessage(code: string, dataDir?: string): string {
  const readOnly = 'The data folder is read-only: Alexa Link cannot save tokens. It recovers by itself once the folder is writable.';
  if (code.startsWith('SQLITE_FULL')) return 'The data folder is full: Alexa Link cannot save tokens. Free some space; it recovers by itself.';
  if (code.startsWith('SQLITE_READONLY')) return readOnly;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'The database was busy for too long; the request can be retried.';
  if (code.startsWith('SQLITE_IOERR') && dataDir !== undefined) {
    try {
      accessSync(dataDir, constants.W_OK);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno === 'EROFS' || errno === 'EPERM' || errno === 'EACCES') return readOnly;
    }
  }
  return `The database could not be read or written (${code}); the request can be retried.`;
}

/** The JSON error handler for the protocol endpoints. */
export function oauthErrorHandler(logger: Logger, dataDir?: string): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const fault = storageFault(error);
    if (fault) {
      // Field "sqlite", not "code": the log redacts anything named code.
      logger.error(storageFaultMessage(fault, dataDir), { path: req.path, sqlite: fault });
      if (res.headersSent) return;
      sendOAuthError(res, new OAuthError('temporarily_unavailable', 'storage is temporarily unavailable; retry later', 503, 5));
      return;
    }
    const known = error instanceof OAuthError ? error : clientError(error);
    if (known) {
      logger.debug('OAuth request refused', { path: req.path, error: known.code, description: known.description });
      sendOAuthError(res, known);
      return;
    }
    logger.error('Unexpected error while handling a request', { path: req.path, error });
    if (res.headersSent) return;
    sendOAuthError(res, new OAuthError('server_error', 'internal error'));
  };
}

/** 405 for a known path with the wrong method. */
export function methodNotAllowed(allow: string): RequestHandler {
  return (_req, res) => {
    res.set('Allow', allow);
    sendOAuthError(res, new OAuthError('invalid_request', `use ${allow}`, 405));
  };
}

export interface Limits {
  /** Requests per window per client IP. */
  limit: number;
  windowMs: number;
}

/** A per-IP volume limit (failures have their own budget: server/failure-budget.ts). */
export function limiter(limits: Limits, respond: (req: Request, res: Response) => void): RequestHandler {
  return rateLimit({
    windowMs: limits.windowMs,
    limit: limits.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // X-Forwarded-For from an untrusted peer is ignored on purpose (trust proxy is an explicit list).
    validate: { xForwardedForHeader: false },
    handler: (req, res) => respond(req, res),
  });
}

export function jsonTooMany(_req: Request, res: Response): void {
  sendOAuthError(res, new OAuthError('temporarily_unavailable', 'too many requests; try again later', 429));
}
