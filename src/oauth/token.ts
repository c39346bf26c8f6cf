/** POST /token (RFC 6749 §3.2): client authentication, then the grant type's handler. */
import type { Request, RequestHandler } from 'express';
import { OAuthError } from '../errors.js';
import { clientKey } from '../server/failure-budget.js';
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

/** Authenticates the client; failures are audited and announced before they are rethrown. */
export function authenticate(ctx: OAuthContext, req: Request, params: Params): Client {
  try {
    return authenticateClient(req, params, ctx.clients).client;
  } catch (error) {
    if (error instanceof ClientAuthError) {
      ctx.failedClientAuth.record(clientKey(req));
      ctx.store.audit.record('client_auth_failed', { details: { path: req.path, ip: req.ip, clientId: error.attemptedClientId, userAgent: req.get('user-agent') } });
      ctx.events.emit('clientAuthFailed', { clientId: error.attemptedClientId, ip: req.ip });
    }
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
