/**
 * What the protocol endpoints read of a request: a plain node:http request with the few fields
 * Express would add. The public listener's front door (path-table.ts) fills them in without
 * Express; Express's own Request has them too, so the same steps also run inside Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ApiRequest extends IncomingMessage {
  /** The client address, after `trust_proxies` (what Express calls `req.ip`). */
  readonly ip: string | undefined;
  /** The URL's path as received (not percent-decoded). */
  readonly path: string;
  /** The request target as received, query included. */
  readonly originalUrl: string;
  /** The URL's query, parsed as Express's default ("simple") query parser does. */
  readonly query: unknown;
  /** The form, once read (form-body.ts); undefined for a request that carries none. */
  body?: unknown;
}

export type ApiNext = (error?: unknown) => void;

/** One step of a request's handling: answer, or call `next` (with an error, to fail). */
export type ApiStep<Req extends ApiRequest = ApiRequest, Res extends ServerResponse = ServerResponse> = (req: Req, res: Res, next: ApiNext) => unknown;
