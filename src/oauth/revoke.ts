/**
 * POST /revoke (RFC 7009). Revoking a refresh token ends the link (its grant); an access token
 * only itself. The answer is 200 whether or not the token was known (§2.2), so it tells nothing.
 */
import { OAuthError } from '../errors.js';
import type { ApiStep } from '../http/api-request.js';
import { requestFacts } from '../http/request-facts.js';
import { authenticate } from './clients.js';
import type { OAuthContext } from './context.js';
import { noStore } from './http.js';
import { formParams, required } from './params.js';

const HINTS = new Set(['access_token', 'refresh_token']);

export function revoke(ctx: OAuthContext): ApiStep {
  return (req, res) => {
    const params = formParams(req);
    const client = authenticate(ctx, req, params);
    if (!client.revoke) throw new OAuthError('unauthorized_client', 'this client may not revoke tokens');
    const token = required(params, 'token');
    const hint = params.token_type_hint;
    if (hint !== undefined && !HINTS.has(hint)) throw new OAuthError('unsupported_token_type', 'token_type_hint must be access_token or refresh_token');
    // Known or not, the answer is the same (§2.2).
    ctx.store.ops.revokeToken(token, client.id, { ip: requestFacts(req).ip });
    noStore(res);
    res.statusCode = 200;
    res.end();
  };
}
