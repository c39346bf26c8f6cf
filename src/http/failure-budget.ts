/**
 * A budget of failures (wrong client secrets, wrong user codes) per key in a fixed window, counted
 * by the handler that detects them, at that moment: of a burst of parallel guesses exactly `limit`
 * are tried, and correct requests are never counted (docs/decisions/0001-failure-budget.md).
 */
import type { Request, RequestHandler, Response } from 'express';
import { TUNABLES } from '../config/tunables.js';
import { makeRoom } from '../util/bounded.js';
import type { Limits } from './limits.js';

/** Memory bound: beyond this many keys, expired windows and then the oldest are forgotten. */
const MAX_KEYS = TUNABLES.limits.maxKeys;

interface Window {
  failures: number;
  resetAt: number;
}

export class FailureBudget {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limits: Limits,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many keys have a window (bounded by MAX_KEYS). */
  get size(): number {
    return this.windows.size;
  }

  /** Seconds until `key` may try again; 0 while it has budget left. */
  retryAfterSeconds(key: string): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const left = window.resetAt - this.now();
    if (left <= 0) {
      this.windows.delete(key);
      return 0;
    }
    return window.failures >= this.limits.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one failure for `key`. */
  record(key: string): void {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      this.windows.delete(key);
      makeRoom(this.windows, MAX_KEYS, now);
      window = { failures: 0, resetAt: now + this.limits.windowMs };
      this.windows.set(key, window);
    }
    window.failures++;
  }

  /** Middleware: while the key's budget is spent, answers with `respond` and a Retry-After. */
  guard(key: (req: Request, res: Response) => string, respond: (req: Request, res: Response) => void): RequestHandler {
    return (req, res, next) => {
      const wait = this.retryAfterSeconds(key(req, res));
      if (wait === 0) {
        next();
        return;
      }
      res.set('Retry-After', String(wait));
      respond(req, res);
    };
  }
}

/** The client address as the limits see it (client-key.ts); here too, where it always was. */
export { clientKey } from './client-key.js';
