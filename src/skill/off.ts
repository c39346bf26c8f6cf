/**
 * What POST /skill answers while the skill guard is off (options "alexa_skill_id" and
 * "skill_backend_url" unset). A module of its own so that a server without the guard never loads
 * the guard's code (endpoint.ts: certificate checks, TLS, the backend's connection pools): app.ts
 * imports that only when both options are set.
 */
import type { RequestHandler, Response } from 'express';
import { OAuthError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export interface SkillGuard {
  handler: RequestHandler[];
  close(): void;
}

/** An error in the OAuth format, never cached. */
export function refuse(res: Response, status: number, description: string): void {
  res
    .set('Cache-Control', 'no-store')
    .status(status)
    .json(new OAuthError('invalid_request', description, status).toJSON());
}

/** Without both options: a clear error, said once in the log, and nothing forwarded. */
export function skillGuardOff(logger: Logger): SkillGuard {
  let warned = false;
  return {
    handler: [
      (_req, res) => {
        if (!warned) {
          warned = true;
          logger.warning('A request reached /skill, but the skill guard is off: set the options "alexa_skill_id" and "skill_backend_url"');
        }
        refuse(res, 503, 'the skill endpoint is not set up: set the add-on options alexa_skill_id and skill_backend_url');
      },
    ],
    close: () => undefined,
  };
}
