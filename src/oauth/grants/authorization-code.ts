/** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). */
import { requestFacts } from '../../server/request-facts.js';
import type { Request } from 'express';
import { OAuthError } from '../../errors.js';
import type { IssuedTokens, RedeemedCode } from '../../store/index.js';
import type { Client } from '../clients.js';
import { lifetimes, type OAuthContext } from '../context.js';
import { required, type Params } from '../params.js';
import { verifierMatches } from '../pkce.js';

/** What is wrong with a redeemed code for this request, or undefined when it is good. */
function mismatch(bound: RedeemedCode, client: Client, redirectUri: string, verifier: string | undefined): OAuthError | undefined {
  if (bound.clientId !== client.id) return new OAuthError('invalid_grant', 'the authorization code was issued to another client');
  if (bound.redirectUri !== redirectUri) return new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  if (bound.codeChallenge !== undefined) {
    if (verifier === undefined) return new OAuthError('invalid_grant', 'code_verifier is required');
    if (!verifierMatches(verifier, bound.codeChallenge)) return new OAuthError('invalid_grant', 'code_verifier does not match the code challenge');
  } else if (verifier !== undefined) {
    // A verifier without a stored challenge means the request was not the one the client made.
    return new OAuthError('invalid_grant', 'code_verifier given, but the authorization request had no code_challenge');
  }
  return undefined;
}

export async function authorizationCodeGrant(ctx: OAuthContext, req: Request, client: Client, params: Params): Promise<IssuedTokens> {
  const { store, config, events } = ctx;
  const code = required(params, 'code');
  const redirectUri = required(params, 'redirect_uri');
  const verifier = params.code_verifier;

  // One savepoint of a group commit (see store/group-commit.ts): consume the code, check it, create
  // the grant and its tokens, audit. Failures are returned, not thrown, so that the consumption of
  // the code is committed with them.
  const outcome = await store.durable((): { tokens: IssuedTokens; subjectName: string | undefined } | OAuthError => {
    const redemption = store.codes.redeem(code);
    if (redemption.status === 'replayed') {
      // RFC 6749 §4.1.2: a code used twice revokes what it produced; one of the two users is an attacker.
      if (redemption.grantId) store.grants.revoke(redemption.grantId, 'code_replay');
      store.audit.record('code_replayed', { grantId: redemption.grantId, details: { ip: requestFacts(req).ip, clientId: client.id } });
      return new OAuthError('invalid_grant', 'the authorization code was already used');
    }
    if (redemption.status === 'invalid') return new OAuthError('invalid_grant', 'the authorization code is invalid or expired');
    const bound = redemption.code;
    const refused = mismatch(bound, client, redirectUri, verifier);
    if (refused) return refused;
    const tokens = store.createGrantFromCode(bound, lifetimes(config), config.refreshTokenMaxSeconds);
    store.audit.record('grant_created', { grantId: tokens.grant.id, subjectId: bound.subject.id, details: { clientId: client.id, scope: bound.scope, ip: requestFacts(req).ip } });
    return { tokens, subjectName: bound.subject.displayName ?? bound.subject.name };
  });
  if (outcome instanceof OAuthError) throw outcome;
  events.emit('linked', { grantId: outcome.tokens.grant.id, subjectName: outcome.subjectName });
  return outcome.tokens;
}
