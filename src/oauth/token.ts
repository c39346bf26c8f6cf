/** POST /token (RFC 6749 §3.2): client authentication, then the grant type's handler. */
import type { Request, RequestHandler } from 'express';
import { OAuthError } from '../errors.js';
import { clientKey } from '../server/failure-budget.js';
import { clip, requestFacts, STORED_LENGTH } from '../server/request-facts.js';
import type { IssuedTokens } from '../store/index.js';
import { authenticateClient, ClientAuthError, type Client } from './clients.js';
import type { OAuthContext } from './context.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { noStore } from './http.js';
import { formParams, required, type Params } from './params.js';

type GrantHandler = (ctx: OAuthContext, req: Request, client: Client, params: Params) => Promise<IssuedTokens>;

const GRANTS: Record<string, GrantHandler> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
};

/**
 * Authenticates the client. Correct credentials always pass, whatever failed before from the same
 * address: behind a proxy every caller shares one address, and a lockout would let anyone cut
 * Alexa off. A failure is checked like any other, then refused with 429 once the address has spent
 * its failure budget (neither counted nor recorded then); within the budget it is counted, recorded
 * (one audit row per address and window) and announced.
 */
export function authenticate(ctx: OAuthContext, req: Request, params: Params): Client {
  try {
    return authenticateClient(req, params, ctx.clients).client;
  } catch (error) {
    if (!(error instanceof ClientAuthError)) throw error;
    const key = clientKey(req);
    const wait = ctx.failedClientAuth.retryAfterSeconds(key);
    if (wait > 0) throw new OAuthError('temporarily_unavailable', 'too many failed client authentications from this address; try again later', 429, wait);
    ctx.failedClientAuth.record(key);
    const facts = requestFacts(req);
    ctx.store.audit.recordRepeated('client_auth_failed', key, ctx.failedClientAuth.limits.windowMs, {
      path: req.path, ip: facts.ip, clientId: clip(error.attemptedClientId, STORED_LENGTH.clientId), userAgent: facts.userAgent,
    });
    ctx.events.emit('clientAuthFailed', { clientId: clip(error.attemptedClientId, STORED_LENGTH.clientId), ip: facts.ip });
    throw error;
  }
}

export function token(ctx: OAuthContext): RequestHandler {
  return async (req, res) => {
    const params = formParams(req);
    const client = authenticate(ctx, req, params);
    const grantType = required(params, 'grant_type');
    const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
    if (!handler) throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    if (client.role !== 'alexa') throw new OAuthError('unauthorized_client', 'this client may not obtain tokens');
    const issued = await handler(ctx, req, client, params);
    noStore(res);
    res.json({
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: Math.floor((issued.accessExpiresAt - issued.issuedAt) / 1000),
      refresh_token: issued.refreshToken,
      scope: issued.grant.scope,
    });
  };
}
