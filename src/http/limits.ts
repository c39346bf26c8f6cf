/** Per-address volume limits (failures have their own budget: failure-budget.ts). */
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

export interface Limits {
  /** Requests per window per client address. */
  limit: number;
  windowMs: number;
}

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
