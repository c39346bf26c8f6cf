/** grant_type=refresh_token (RFC 6749 §6) with successor confirmation (see store/tokens.ts). */
import { TUNABLES } from '../../config/tunables.js';
import { OAuthError } from '../../errors.js';
import type { ApiRequest } from '../../http/api-request.js';
import { requestFacts } from '../../http/request-facts.js';
import type { IssuedTokens } from '../../store/index.js';
import type { Client } from '../clients.js';
import type { OAuthContext } from '../context.js';
import { type Params, required } from '../params.js';
import { checkScopeSubset } from '../scope.js';

export async function refreshTokenGrant(ctx: OAuthContext, req: ApiRequest, client: Client, params: Params): Promise<IssuedTokens> {
  const { store, config, events, logger } = ctx;
  const token = required(params, 'refresh_token');
  // Answered only once on disk, sharing one fsync with the other token requests of the moment.
  const result = await store.ops.refresh({ token, clientId: client.id, lifetimes: config.policy.lifetimes, origin: requestFacts(req) });
  if (result.status === 'reuse') {
    const { grant } = result;
    logger.warning('A retired refresh token was presented again; the link was revoked', { grant: grant.id });
    events.emit('refreshReuse', { grantId: grant.id, subjectName: grant.subject.displayName ?? grant.subject.name });
    throw new OAuthError('invalid_grant', 'the refresh token was already rotated; the link has been revoked');
  }
  if (result.status === 'repeat') {
    // A parallel duplicate, or a retry sooner than a lost answer can be noticed: not a wrong token,
    // so no invalid_grant (Alexa would unlink) but "try again", and the token stays valid.
    const seconds = Math.ceil(result.retryAfterMs / 1000);
    logger.info('A refresh token was presented again right after its rotation; answered 429 so that only one request succeeds', {
      grant: result.grant.id,
      retryAfterSeconds: seconds,
    });
    throw new OAuthError(
      'temporarily_unavailable',
      `this refresh token was redeemed by another request less than ${TUNABLES.oauth.refreshRepeatSeconds} s ago; try again in ${seconds} s`,
      429,
      seconds,
    );
  }
  if (result.status === 'invalid' && result.earlierServer) {
    logger.notice("Alexa presented a refresh token this server never issued (the earlier OAuth server's); the panel now asks people to link again");
  }
  if (result.status === 'invalid') throw new OAuthError('invalid_grant', `the refresh token is ${result.reason === 'unknown' ? 'invalid' : result.reason}`);
  // Checked after the rotation (like every other check that needs the grant); a refused scope costs the client nothing: its token stays valid.
  checkScopeSubset(params.scope, result.tokens.grant.scope);
  return result.tokens;
}
