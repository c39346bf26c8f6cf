/**
 * The clients this server knows, and client authentication (RFC 6749 §2.3.1): HTTP Basic
 * (`client_secret_basic`) or the body (`client_secret_post`), never both. Secrets are compared in
 * constant time, and an unknown client costs the same comparison as a known one.
 */
import type { Request } from 'express';
import type { Config } from '../config/load.js';
import { RESOURCE_SERVER_CLIENT_ID } from '../config/options.js';
import { safeEqual } from '../crypto/random.js';
import { OAuthError } from '../errors.js';
import type { Params } from './params.js';

export type ClientRole = 'alexa' | 'resource_server';

export interface Client {
  id: string;
  role: ClientRole;
  secret: string;
  redirectUris: readonly string[];
}

export type AuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientRegistry {
  find(id: string): Client | undefined;
  alexa: Client;
}

export function clientRegistry(config: Config): ClientRegistry {
  const alexa: Client = { id: config.alexa.clientId, role: 'alexa', secret: config.alexa.clientSecret, redirectUris: config.alexa.redirectUris };
  const clients = new Map<string, Client>([[alexa.id, alexa]]);
  if (config.resourceServerSecret) {
    clients.set(RESOURCE_SERVER_CLIENT_ID, { id: RESOURCE_SERVER_CLIENT_ID, role: 'resource_server', secret: config.resourceServerSecret, redirectUris: [] });
  }
  return { find: (id) => clients.get(id), alexa };
}

/** Thrown for every failed client authentication; carries what the audit log needs. */
export class ClientAuthError extends OAuthError {
  constructor(
    readonly attemptedClientId: string | undefined,
    readonly basic: boolean,
  ) {
    super('invalid_client', 'client authentication failed', 401);
  }
}

/** Same cost for unknown clients: compare against this instead of returning early. */
const DUMMY_SECRET = 'x'.repeat(64);

/**
 * Basic credentials as clients really send them. RFC 6749 §2.3.1 says both parts are
 * form-urlencoded before being joined, but many clients (Authlib among them) put a secret with
 * `+`, `/` and `=` in unencoded, and form-decoding turns its `+` into a space. So each part is
 * taken both as sent and form-decoded (when that decodes); either may match.
 */
function decodeBasic(header: string): { ids: string[]; secrets: string[] } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const readings = (part: string): string[] => {
    try {
      const formDecoded = decodeURIComponent(part.replace(/\+/g, ' '));
      return formDecoded === part ? [part] : [formDecoded, part];
    } catch {
      return [part];
    }
  };
  return { ids: readings(decoded.slice(0, colon)), secrets: readings(decoded.slice(colon + 1)) };
}

/** Constant time over every candidate: the answer does not depend on which one matched, or where. */
function anyMatches(candidates: readonly string[], secret: string): boolean {
  let matched = false;
  for (const candidate of candidates) matched = safeEqual(candidate, secret) || matched;
  return matched;
}

export function authenticateClient(req: Request, params: Params, registry: ClientRegistry): { client: Client; method: AuthMethod } {
  const header = req.headers.authorization;
  const inBody = params.client_secret !== undefined;
  let ids: string[];
  let secrets: string[];
  let method: AuthMethod;
  if (header !== undefined) {
    if (inBody) throw new OAuthError('invalid_request', 'use one client authentication method, not two');
    const credentials = decodeBasic(header);
    method = 'client_secret_basic';
    if (!credentials) throw new ClientAuthError(undefined, true);
    ({ ids, secrets } = credentials);
    if (params.client_id !== undefined && !ids.includes(params.client_id)) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the authenticated client');
    }
  } else {
    method = 'client_secret_post';
    if (params.client_id === undefined || params.client_secret === undefined) throw new ClientAuthError(params.client_id, false);
    ids = [params.client_id];
    secrets = [params.client_secret];
  }
  const id = ids.find((candidate) => registry.find(candidate) !== undefined) ?? ids[0]!;
  const client = registry.find(id);
  const matches = anyMatches(secrets, client?.secret ?? DUMMY_SECRET);
  if (!client || !matches) throw new ClientAuthError(id, method === 'client_secret_basic');
  return { client, method };
}
