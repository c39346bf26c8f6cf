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

function decodeBasic(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    const unescape = (part: string): string => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export function authenticateClient(req: Request, params: Params, registry: ClientRegistry): { client: Client; method: AuthMethod } {
  const header = req.headers.authorization;
  const inBody = params.client_secret !== undefined;
  let credentials: { id: string; secret: string } | undefined;
  let method: AuthMethod;
  if (header !== undefined) {
    if (inBody) throw new OAuthError('invalid_request', 'use one client authentication method, not two');
    credentials = decodeBasic(header);
    method = 'client_secret_basic';
    if (!credentials) throw new ClientAuthError(undefined, true);
    if (params.client_id !== undefined && params.client_id !== credentials.id) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the authenticated client');
    }
  } else {
    method = 'client_secret_post';
    if (params.client_id === undefined || params.client_secret === undefined) throw new ClientAuthError(params.client_id, false);
    credentials = { id: params.client_id, secret: params.client_secret };
  }
  const client = registry.find(credentials.id);
  const matches = safeEqual(credentials.secret, client?.secret ?? DUMMY_SECRET);
  if (!client || !matches) throw new ClientAuthError(credentials.id, method === 'client_secret_basic');
  return { client, method };
}
