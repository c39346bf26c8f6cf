/**
 * POST /introspect (RFC 7662), for Music Assistant only (client `music_assistant`). Anything
 * expired, revoked, unknown or not an access token is simply `{"active": false}`; so is a token
 * that would live longer than access_token_ttl_minutes, or was issued before its link or in the
 * future (store/tokens.ts).
 */
import { OAuthError } from '../errors.js';
import type { ApiStep } from '../http/api-request.js';
import { authenticate } from './clients.js';
import type { OAuthContext } from './context.js';
import { sendJson } from './http.js';
import { formParams, required } from './params.js';

export function introspect(ctx: OAuthContext): ApiStep {
  return (req, res) => {
    const params = formParams(req);
    const client = authenticate(ctx, req, params);
    if (!client.introspect) throw new OAuthError('unauthorized_client', 'this client may not introspect tokens', 403);
    ctx.sightings.note('introspect');
    const info = ctx.store.tokens.introspect(required(params, 'token'), ctx.config.policy.lifetimes);
    if (!info) {
      sendJson(res, 200, { active: false });
      return;
    }
    const { grant } = info;
    sendJson(res, 200, {
      active: true,
      sub: grant.subject.id,
      username: grant.subject.name ?? grant.subject.displayName,
      scope: grant.scope,
      client_id: grant.clientId,
      token_type: 'Bearer',
      exp: Math.floor(info.expiresAt / 1000),
      iat: Math.floor(info.issuedAt / 1000),
      iss: ctx.config.publicUrl,
    });
  };
}
