/**
 * The clients this server knows, as data: what each may do is in its entry, so a new client is one
 * entry here. And client authentication (RFC 6749 §2.3.1): HTTP Basic (`client_secret_basic`) or
 * the body (`client_secret_post`), never both; secrets compared in constant time, and an unknown
 * client costs the same comparison as a known one.
 */
import type { Config } from '../config/load.js';
import { RESOURCE_SERVER_CLIENT_ID } from '../config/options.js';
import { digest, matchesDigest } from '../crypto/random.js';
import { OAuthError } from '../errors.js';
import type { ApiRequest } from '../http/api-request.js';
import { clientKey } from '../http/failure-budget.js';
import { clip, requestFacts, STORED_LENGTH } from '../http/request-facts.js';
import type { OAuthContext } from './context.js';
import { type Params, readParams } from './params.js';

export type GrantType = 'authorization_code' | 'refresh_token';

export interface Client {
  id: string;
  secret: string;
  /** Where /authorize may send the person back; exact matches only. */
  redirectUris: readonly string[];
  /** Grant types it may use at /token; `authorization_code` also lets it start links at /authorize. */
  grants: readonly GrantType[];
  /** May ask /introspect about access tokens (the resource server). */
  introspect: boolean;
  /** May revoke its own tokens at /revoke. */
  revoke: boolean;
}

export interface ClientRegistry {
  find(id: string): Client | undefined;
}

export function clientRegistry(config: Config): ClientRegistry {
  const entries: Client[] = [
    // Amazon Alexa: links people, then refreshes for months; may unlink (revoke) itself.
    {
      id: config.alexa.clientId,
      secret: config.alexa.clientSecret,
      redirectUris: config.alexa.redirectUris,
      grants: ['authorization_code', 'refresh_token'],
      introspect: false,
      revoke: true,
    },
  ];
  if (config.resourceServerSecret) {
    // Music Assistant: only asks whether an access token is valid and whose it is.
    entries.push({ id: RESOURCE_SERVER_CLIENT_ID, secret: config.resourceServerSecret, redirectUris: [], grants: [], introspect: true, revoke: false });
  }
  const clients = new Map(entries.map((client) => [client.id, client]));
  return { find: (id) => clients.get(id) };
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
const DUMMY_DIGEST = digest('x'.repeat(64));

/** Each client's secret digested once, not on every request. */
const secretDigests = new WeakMap<Client, Buffer>();
function secretDigestOf(client: Client | undefined): Buffer {
  if (!client) return DUMMY_DIGEST;
  let made = secretDigests.get(client);
  if (!made) {
    made = digest(client.secret);
    secretDigests.set(client, made);
  }
  return made;
}

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
function anyMatches(candidates: readonly string[], expected: Buffer): boolean {
  let matched = false;
  for (const candidate of candidates) matched = matchesDigest(candidate, expected) || matched;
  return matched;
}

function authenticateClient(req: ApiRequest, params: Params, registry: ClientRegistry): Client {
  const header = req.headers.authorization;
  const inBody = params.client_secret !== undefined;
  let ids: string[];
  let secrets: string[];
  const basic = header !== undefined;
  if (header !== undefined) {
    if (inBody) throw new OAuthError('invalid_request', 'use one client authentication method, not two');
    const credentials = decodeBasic(header);
    if (!credentials) throw new ClientAuthError(undefined, true);
    ({ ids, secrets } = credentials);
    if (params.client_id !== undefined && !ids.includes(params.client_id)) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the authenticated client');
    }
  } else {
    if (params.client_id === undefined || params.client_secret === undefined) throw new ClientAuthError(params.client_id, false);
    ids = [params.client_id];
    secrets = [params.client_secret];
  }
  const id = ids.find((candidate) => registry.find(candidate) !== undefined) ?? ids[0]!;
  const client = registry.find(id);
  const matches = anyMatches(secrets, secretDigestOf(client));
  if (!client || !matches) throw new ClientAuthError(id, basic);
  return client;
}

/**
 * Whether a request carries correct client credentials, by the same check `authenticate` makes
 * (once its form body has been read), without counting or recording anything: a limiter asks this
 * before refusing, because no limiter refuses correct credentials (public-app.ts).
 */
export function hasCorrectCredentials(registry: ClientRegistry, req: ApiRequest): boolean {
  try {
    authenticateClient(req, readParams(req.body), registry);
    return true;
  } catch {
    return false;
  }
}

/**
 * Authenticates the client of a request. Correct credentials always pass, whatever failed before
 * from the same address: behind a proxy every caller shares one address, and a lockout would let
 * anyone cut Alexa off. A failure is checked like any other, then refused with 429 once the address
 * has spent its failure budget (neither counted nor recorded then); within the budget it is
 * counted, recorded (one audit row per hour in all: audit.ts recordAnonymous) and announced.
 */
export function authenticate(ctx: OAuthContext, req: ApiRequest, params: Params): Client {
  try {
    return authenticateClient(req, params, ctx.clients);
  } catch (error) {
    if (!(error instanceof ClientAuthError)) throw error;
    const key = clientKey(req);
    const wait = ctx.failedClientAuth.retryAfterSeconds(key);
    if (wait > 0) throw new OAuthError('temporarily_unavailable', 'too many failed client authentications from this address; try again later', 429, wait);
    ctx.failedClientAuth.record(key);
    const facts = requestFacts(req);
    const clientId = clip(error.attemptedClientId, STORED_LENGTH.clientId);
    ctx.store.audit.recordAnonymous('client_auth_failed', {
      path: req.path,
      ip: facts.ip,
      clientId,
      userAgent: facts.userAgent,
    });
    ctx.events.emit('clientAuthFailed', { clientId, ip: facts.ip });
    throw error;
  }
}
