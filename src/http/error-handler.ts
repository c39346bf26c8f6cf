/**
 * The one error handler of both listeners: it sorts what was thrown into a storage fault (503,
 * logged with its cause), a refused request (its 4xx) or a real fault (500, logged, saying nothing
 * about it), and lets each listener word the answer in its own format.
 */
import type { ServerResponse } from 'node:http';
import { TUNABLES } from '../config/tunables.js';
import { OAuthError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ApiNext, ApiRequest } from './api-request.js';
import { storageFault, storageFaultMessage } from './storage-fault.js';

export interface FailureAnswers<Res extends ServerResponse> {
  /** Storage cannot write right now: 503 with Retry-After. */
  unavailable(res: Res, retryAfterSeconds: number): void;
  /** The request was at fault: `status` is its 4xx (from the error, or from body-parser). */
  refused(res: Res, error: unknown, status: number): void;
  /** Anything else: 500. */
  failed(res: Res): void;
}

/** A 4xx carried by the error (OAuthError, body-parser, serve-static), or undefined. */
function clientStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** Four parameters, as Express recognises an error handler; the front door calls it too (path-table.ts). */
export function errorHandler<Res extends ServerResponse>(
  logger: Logger,
  dataDir: string | undefined,
  answers: FailureAnswers<Res>,
): (error: unknown, req: ApiRequest, res: Res, next: ApiNext) => void {
  return (error, req, res, _next) => {
    const fault = storageFault(error);
    if (fault) {
      // Field "sqlite", not "code": the log redacts anything named code.
      logger.error(storageFaultMessage(fault, dataDir), { path: req.path, sqlite: fault });
      if (!res.headersSent) answers.unavailable(res, TUNABLES.http.storageRetryAfterSeconds);
      return;
    }
    // An OAuthError is a deliberate answer, whatever its status; other errors count by their 4xx.
    const status = error instanceof OAuthError ? error.status : clientStatus(error);
    if (status !== undefined) {
      logger.debug('Request refused', { path: req.path, status, error: (error as Error).message });
      if (!res.headersSent) answers.refused(res, error, status);
      return;
    }
    logger.error('Unexpected error while handling a request', { path: req.path, error });
    if (!res.headersSent) answers.failed(res);
  };
}
