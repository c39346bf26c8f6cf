/**
 * Per-address volume limits (failures have their own budget: failure-budget.ts). A counter per key
 * and fixed window, in memory, with a hard bound on keys: a flood of new addresses costs at most
 * `maxKeys` small entries per limiter, never more.
 */
import type { ServerResponse } from 'node:http';
import { TUNABLES } from '../config/tunables.js';
import type { ApiRequest, ApiStep } from './api-request.js';
import { clientKey } from './client-key.js';

export interface Limits {
  /** Requests per window per client address. */
  limit: number;
  windowMs: number;
}

interface Window {
  hits: number;
  resetAt: number;
}

/** One key's count in its current window. */
export interface Count {
  hits: number;
  /** Milliseconds until the window ends. */
  resetInMs: number;
}

/** Fixed windows per key, at most `maxKeys` of them. */
export class RequestCounter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limits: Limits,
    private readonly maxKeys: number = TUNABLES.limits.maxKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many keys have a window (at most `maxKeys`). */
  get size(): number {
    return this.windows.size;
  }

  /** Counts one request of `key`. */
  hit(key: string): Count {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || window.resetAt <= now) {
      this.windows.delete(key);
      this.forget(now);
      window = { hits: 0, resetAt: now + this.limits.windowMs };
      this.windows.set(key, window);
    }
    window.hits++;
    return { hits: window.hits, resetInMs: window.resetAt - now };
  }

  /**
   * Forgets expired windows, and the oldest ones while there is no room for another. Every window
   * is as long as the others and a renewed one is inserted again, so the Map's insertion order is
   * the order in which windows end: the expired ones, then the oldest, are at its front (the choice
   * util/bounded.ts `makeRoom` makes), and this stops at the first that stays. Each entry is removed
   * once, so the cost per request stays constant however many keys there are. (Should the clock step
   * back, an expired window may wait behind a live one; the bound holds all the same.)
   */
  private forget(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.resetAt > now && this.windows.size < this.maxKeys) return;
      this.windows.delete(key);
    }
  }
}

/**
 * Decides, for a request over its limit, that it is answered all the same (correct client
 * credentials: no limiter refuses those). Asked only once the limit is reached.
 */
export type Exemption<Req extends ApiRequest = ApiRequest, Res extends ServerResponse = ServerResponse> = (req: Req, res: Res) => boolean | Promise<boolean>;

/**
 * Middleware: counts each request by its client address (clientKey: after `trust proxy`, IPv6 per
 * /56) and, past the limit, answers with `respond` and a Retry-After, unless `exempt` says
 * otherwise. Every answer carries the IETF draft-7 headers `RateLimit-Policy: 300;w=60` and
 * `RateLimit: limit=300, remaining=0, reset=42`, as express-rate-limit's `standardHeaders:
 * 'draft-7'` did before this replaced it.
 */
export function limiter<Req extends ApiRequest, Res extends ServerResponse>(
  limits: Limits,
  respond: (req: Req, res: Res) => void,
  exempt?: Exemption<Req, Res>,
): ApiStep<Req, Res> {
  const counter = new RequestCounter(limits);
  const policy = `${limits.limit};w=${Math.ceil(limits.windowMs / 1000)}`;
  return (req, res, next) => {
    const { hits, resetInMs } = counter.hit(clientKey(req));
    const reset = String(Math.max(0, Math.ceil(resetInMs / 1000)));
    res.setHeader('RateLimit-Policy', policy);
    res.setHeader('RateLimit', `limit=${limits.limit}, remaining=${Math.max(limits.limit - hits, 0)}, reset=${reset}`);
    if (hits <= limits.limit) {
      next();
      return;
    }
    const refuse = (): void => {
      res.setHeader('Retry-After', reset);
      respond(req, res);
    };
    if (exempt === undefined) {
      refuse();
      return;
    }
    return Promise.resolve(exempt(req, res)).then((answered) => (answered ? next() : refuse()));
  };
}
