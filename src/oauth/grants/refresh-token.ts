/** grant_type=refresh_token (RFC 6749 §6) with successor confirmation (see store/tokens.ts). */
import type { Request } from 'express';
import { OAuthError } from '../../errors.js';
import type { IssuedTokens } from '../../store/index.js';
import type { Client } from '../clients.js';
import { lifetimes, type OAuthContext } from '../context.js';
import { required, type Params } from '../params.js';
import { checkScopeSubset } from '../scope.js';

export function refreshTokenGrant(ctx: OAuthContext, req: Request, client: Client, params: Params): IssuedTokens {
  const { store, config, events, logger } = ctx;
  const result = store.tokens.refresh(required(params, 'refresh_token'), client.id, lifetimes(config));
  if (result.status === 'reuse') {
    const { grant } = result;
    store.audit.record('refresh_reuse', { grantId: grant.id, subjectId: grant.subject.id, details: { ip: req.ip, userAgent: req.get('user-agent') } });
    logger.warning('A retired refresh token was presented again; the link was revoked', { grant: grant.id });
    events.emit('refreshReuse', { grantId: grant.id, subjectName: grant.subject.displayName ?? grant.subject.name });
    throw new OAuthError('invalid_grant', 'the refresh token was already rotated; the link has been revoked');
  }
  if (result.status === 'invalid') throw new OAuthError('invalid_grant', `the refresh token is ${result.reason === 'unknown' ? 'invalid' : result.reason}`);
  checkScopeSubset(params.scope, result.tokens.grant.scope);
  store.audit.record('token_refreshed', { grantId: result.tokens.grant.id, subjectId: result.tokens.grant.subject.id, details: { ip: req.ip } });
  return result.tokens;
}
