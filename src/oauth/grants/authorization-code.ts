/** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). */
import type { Request } from 'express';
import { OAuthError } from '../../errors.js';
import type { IssuedTokens } from '../../store/index.js';
import type { Client } from '../clients.js';
import { lifetimes, type OAuthContext } from '../context.js';
import { required, type Params } from '../params.js';
import { verifierMatches } from '../pkce.js';

export function authorizationCodeGrant(ctx: OAuthContext, req: Request, client: Client, params: Params): IssuedTokens {
  const { store, config, events } = ctx;
  const code = required(params, 'code');
  const redirectUri = required(params, 'redirect_uri');
  const verifier = params.code_verifier;
  const redemption = store.codes.redeem(code);

  if (redemption.status === 'replayed') {
    // RFC 6749 §4.1.2: a code used twice revokes what it produced; one of the two users is an attacker.
    if (redemption.grantId) store.grants.revoke(redemption.grantId, 'code_replay');
    store.audit.record('code_replayed', { grantId: redemption.grantId, details: { ip: req.ip, clientId: client.id } });
    throw new OAuthError('invalid_grant', 'the authorization code was already used');
  }
  if (redemption.status === 'invalid') throw new OAuthError('invalid_grant', 'the authorization code is invalid or expired');

  const bound = redemption.code;
  // The code is consumed from here on: a failed check below does not give it back.
  if (bound.clientId !== client.id) throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
  if (bound.redirectUri !== redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  if (bound.codeChallenge !== undefined) {
    if (verifier === undefined) throw new OAuthError('invalid_grant', 'code_verifier is required');
    if (!verifierMatches(verifier, bound.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code challenge');
  } else if (verifier !== undefined) {
    // A verifier without a stored challenge means the request was not the one the client made.
    throw new OAuthError('invalid_grant', 'code_verifier given, but the authorization request had no code_challenge');
  }

  const tokens = store.createGrantFromCode(bound, lifetimes(config), config.refreshTokenMaxSeconds);
  store.audit.record('grant_created', {
    grantId: tokens.grant.id,
    subjectId: bound.subject.id,
    details: { clientId: client.id, scope: bound.scope, ip: req.ip },
  });
  events.emit('linked', { grantId: tokens.grant.id, subjectName: bound.subject.displayName ?? bound.subject.name });
  return tokens;
}
