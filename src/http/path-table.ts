/**
 * A few fixed paths answered without Express's router: the protocol endpoints are called far more
 * often than any page, and walking the router's layers (path matching, `next` per layer) cost
 * more than their own work. Each path has one chain of steps, run in order with Express 5's error
 * rules (a throw or a rejected promise goes to the error handler). Anything else falls through.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type Step = (req: Request, res: Response, next: NextFunction) => unknown;

export interface PathRoute {
  /** The one method the path answers; any other gets `wrongMethod`. */
  method: string;
  steps: readonly Step[];
}

function run(steps: readonly Step[], index: number, req: Request, res: Response, done: NextFunction): void {
  const step = steps[index];
  if (step === undefined) {
    done();
    return;
  }
  const advance = (error?: unknown): void => {
    if (error !== undefined && error !== null) done(error);
    else run(steps, index + 1, req, res, done);
  };
  try {
    const result = step(req, res, advance as NextFunction);
    if (result instanceof Promise) result.catch(done);
  } catch (error) {
    done(error);
  }
}

/**
 * `routes`: path → route. Paths match as Express's default routing does (case-insensitive, one
 * trailing slash allowed), so moving an endpoint here changes no URL.
 */
export function pathTable(routes: Record<string, PathRoute>, wrongMethod: (allow: string) => Step): RequestHandler {
  const table = new Map(Object.entries(routes).map(([path, route]) => [path.toLowerCase(), { ...route, refuse: wrongMethod(route.method) }]));
  const normal = (path: string): string => {
    const lower = path.toLowerCase();
    return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
  };
  const handler: RequestHandler = (req, res, next) => {
    const route = table.get(req.path) ?? table.get(normal(req.path));
    if (route === undefined) {
      next();
      return;
    }
    if (req.method !== route.method) run([route.refuse], 0, req, res, next);
    else run(route.steps, 0, req, res, next);
  };
  // Listed like a router's routes, so a walk over the app (the fuzz test's) finds them.
  return Object.assign(handler, { paths: Object.keys(routes) });
}
