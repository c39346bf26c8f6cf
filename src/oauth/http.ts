/**
 * HTTP plumbing of the OAuth endpoints: no-store headers, RFC 6749 §5.2 error bodies, and how the
 * shared error handler (http/error-handler.ts) answers here: always RFC 6749 error JSON.
 */
import type { ServerResponse } from 'node:http';
import { OAuthError } from '../errors.js';
import type { ApiRequest, ApiStep } from '../http/api-request.js';
import type { FailureAnswers } from '../http/error-handler.js';
import { ClientAuthError } from './clients.js';

/** RFC 6749 §5.1: token responses must not be cached. */
export function noStore(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/**
 * A JSON answer that must not be cached, written directly: Express's `res.json` and `res.send`
 * look for ETags and freshness that a no-store answer never has.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  noStore(res);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  if (error instanceof ClientAuthError && error.basic) res.setHeader('WWW-Authenticate', 'Basic realm="alexa-link", charset="UTF-8"');
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  sendJson(res, error.status, error.toJSON());
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

/** The shared error handler's answers on the public listener. */
export const oauthAnswers: FailureAnswers<ServerResponse> = {
  unavailable: (res, retryAfterSeconds) =>
    sendOAuthError(res, new OAuthError('temporarily_unavailable', 'storage is temporarily unavailable; retry later', 503, retryAfterSeconds)),
  refused: (res, error, status) => sendOAuthError(res, error instanceof OAuthError ? error : clientError(error, status)),
  failed: (res) => sendOAuthError(res, new OAuthError('server_error', 'internal error')),
};

/** 405 for a known path with the wrong method. */
export function methodNotAllowed(allow: string): ApiStep {
  return (_req, res) => {
    res.setHeader('Allow', allow);
    sendOAuthError(res, new OAuthError('invalid_request', `use ${allow}`, 405));
  };
}

export function jsonTooMany(_req: ApiRequest, res: ServerResponse): void {
  sendOAuthError(res, new OAuthError('temporarily_unavailable', 'too many requests; try again later', 429));
}
