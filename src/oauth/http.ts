/**
 * HTTP plumbing of the OAuth endpoints: no-store headers, RFC 6749 §5.2 error bodies, and how the
 * shared error handler (http/error-handler.ts) answers here: always RFC 6749 error JSON.
 */
import type { Request, RequestHandler, Response } from 'express';
import { OAuthError } from '../errors.js';
import type { FailureAnswers } from '../http/error-handler.js';
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
function clientError(error: unknown, status: number): OAuthError {
  const { type } = (error ?? {}) as { type?: unknown };
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

/** The shared error handler's answers on the public listener. */
export const oauthAnswers: FailureAnswers = {
  unavailable: (res, retryAfterSeconds) =>
    sendOAuthError(res, new OAuthError('temporarily_unavailable', 'storage is temporarily unavailable; retry later', 503, retryAfterSeconds)),
  refused: (res, error, status) => sendOAuthError(res, error instanceof OAuthError ? error : clientError(error, status)),
  failed: (res) => sendOAuthError(res, new OAuthError('server_error', 'internal error')),
};

/** 405 for a known path with the wrong method. */
export function methodNotAllowed(allow: string): RequestHandler {
  return (_req, res) => {
    res.set('Allow', allow);
    sendOAuthError(res, new OAuthError('invalid_request', `use ${allow}`, 405));
  };
}

export function jsonTooMany(_req: Request, res: Response): void {
  sendOAuthError(res, new OAuthError('temporarily_unavailable', 'too many requests; try again later', 429));
}
