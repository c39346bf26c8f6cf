/** POST /token (RFC 6749 §3.2): client authentication, then the grant type's handler. */
import { OAuthError } from '../errors.js';
import type { ApiRequest, ApiStep } from '../http/api-request.js';
import type { IssuedTokens } from '../store/index.js';
import { authenticate, type Client, type GrantType } from './clients.js';
import type { OAuthContext } from './context.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { sendJson } from './http.js';
import { formParams, type Params, required } from './params.js';

type GrantHandler = (ctx: OAuthContext, req: ApiRequest, client: Client, params: Params) => Promise<IssuedTokens>;

const GRANTS: Record<GrantType, GrantHandler> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
};

export function token(ctx: OAuthContext): ApiStep {
  return async (req, res) => {
    const params = formParams(req);
    const client = authenticate(ctx, req, params);
    if (client.id === ctx.config.alexa.clientId) ctx.sightings.note('alexaToken');
    const grantType = required(params, 'grant_type');
    if (!Object.hasOwn(GRANTS, grantType)) throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    const grant = grantType as GrantType;
    if (!client.grants.includes(grant)) throw new OAuthError('unauthorized_client', 'this client may not obtain tokens');
    const issued = await GRANTS[grant](ctx, req, client, params);
    sendJson(res, 200, {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: Math.floor((issued.accessExpiresAt - issued.issuedAt) / 1000),
      refresh_token: issued.refreshToken,
      scope: issued.grant.scope,
    });
  };
}
