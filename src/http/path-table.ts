/**
 * The public listener's front door: a few fixed paths answered straight from node:http, anything
 * else handed to Express. The protocol endpoints are called far more often than any page, and
 * Express's per-request set-up (prototype swaps, the router's layers, a final handler) cost more
 * than their own work and most of their latency tail (docs/benchmarks.md). Each path has one
 * chain of steps, run in order with Express 5's error rules (a throw or a rejected promise fails
 * the request). A path matches as Express's default routing matches it (case-insensitive, one
 * trailing slash allowed), read from the URL by Express's own parser, so moving an endpoint here
 * changes no URL; the client address is Express's `req.ip` under the same trust function.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { parseUrl, proxyAddr } from '../commonjs.js';
import type { ApiNext, ApiRequest, ApiStep } from './api-request.js';

export interface PathRoute {
  /** The one method the path answers; any other gets `wrongMethod`. */
  method: string;
  steps: readonly ApiStep[];
}

export interface PathTableOptions {
  /** Run first on every request of the table, whatever its method (the request log, say). */
  before: readonly ApiStep[];
  /** The answer to another method than the route's; `allow` is the route's. */
  wrongMethod: (allow: string) => ApiStep;
  /** Which peers' X-Forwarded-For to believe (Express's compiled `trust proxy`). */
  trust: (address: string, hop: number) => boolean;
  /** A step failed (threw, rejected, or called `next` with an error): the listener's error handler. */
  failed: (error: unknown, req: ApiRequest, res: ServerResponse) => void;
  /** Every request whose path is not in the table. */
  fallback: (req: IncomingMessage, res: ServerResponse) => void;
}

/** The listener, and the table's paths (a walk over the routes, the fuzz test's, lists them). */
export type FrontDoor = ((req: IncomingMessage, res: ServerResponse) => void) & { paths: string[] };

function run(steps: readonly ApiStep[], index: number, req: ApiRequest, res: ServerResponse, done: ApiNext): void {
  const step = steps[index];
  if (step === undefined) {
    // Every route ends in a step that answers; running out is this program's fault.
    done(new Error(`no step answered ${req.method ?? ''} ${req.path}`));
    return;
  }
  const advance: ApiNext = (error) => {
    if (error !== undefined && error !== null) done(error);
    else run(steps, index + 1, req, res, done);
  };
  try {
    const result = step(req, res, advance);
    if (result instanceof Promise) result.catch(done);
  } catch (error) {
    done(error);
  }
}

function normal(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/** `routes`: path → route. */
export function pathTable(routes: Record<string, PathRoute>, options: PathTableOptions): FrontDoor {
  const table = new Map(
    Object.entries(routes).map(([path, route]) => [
      path.toLowerCase(),
      { answer: [...options.before, ...route.steps], refuse: [...options.before, options.wrongMethod(route.method)], method: route.method },
    ]),
  );
  const door = (req: IncomingMessage, res: ServerResponse): void => {
    // parseurl keeps its answer on the request, so Express reads the same URL for what passes on.
    const url = parseUrl(req);
    const path = url?.pathname;
    const route = path ? (table.get(path) ?? table.get(normal(path))) : undefined;
    if (!url || !path || !route) {
      options.fallback(req, res);
      return;
    }
    const api = Object.assign(req, {
      ip: proxyAddr(req, options.trust),
      path,
      originalUrl: req.url ?? path,
      query: typeof url.query === 'string' ? parseQuery(url.query) : {},
    });
    const done: ApiNext = (error) => options.failed(error, api, res);
    run(req.method === route.method ? route.answer : route.refuse, 0, api, res, done);
  };
  return Object.assign(door, { paths: Object.keys(routes) });
}
