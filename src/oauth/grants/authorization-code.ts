/** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). */
import { OAuthError } from '../../errors.js';
import type { ApiRequest } from '../../http/api-request.js';
import { requestFacts } from '../../http/request-facts.js';
import type { IssuedTokens, RedeemedCode } from '../../store/index.js';
import type { Client } from '../clients.js';
import type { OAuthContext } from '../context.js';
import { type Params, required } from '../params.js';
import { verifierMatches } from '../pkce.js';

/** What is wrong with a redeemed code for this request, or undefined when it is good. */
function mismatch(bound: RedeemedCode, client: Client, redirectUri: string, verifier: string | undefined): string | undefined {
  if (bound.clientId !== client.id) return 'the authorization code was issued to another client';
  if (bound.redirectUri !== redirectUri) return 'redirect_uri does not match the authorization request';
  if (bound.codeChallenge !== undefined) {
    if (verifier === undefined) return 'code_verifier is required';
    if (!verifierMatches(verifier, bound.codeChallenge)) return 'code_verifier does not match the code challenge';
  } else if (verifier !== undefined) {
    // A verifier without a stored challenge means the request was not the one the client made.
    return 'code_verifier given, but the authorization request had no code_challenge';
  }
  return undefined;
}

export async function authorizationCodeGrant(ctx: OAuthContext, req: ApiRequest, client: Client, params: Params): Promise<IssuedTokens> {
  const { store, config, events } = ctx;
  const redirectUri = required(params, 'redirect_uri');
  const result = await store.ops.exchangeCode({
    code: required(params, 'code'),
    clientId: client.id,
    check: (bound) => mismatch(bound, client, redirectUri, params.code_verifier),
    lifetimes: config.policy.lifetimes,
    maxSeconds: config.policy.linkMaxSeconds,
    origin: { ip: requestFacts(req).ip },
  });
  switch (result.status) {
    case 'replayed':
      throw new OAuthError('invalid_grant', 'the authorization code was already used');
    case 'invalid':
      throw new OAuthError('invalid_grant', 'the authorization code is invalid or expired');
    case 'refused':
      throw new OAuthError('invalid_grant', result.description);
    case 'linked':
      events.emit('linked', { grantId: result.tokens.grant.id, subjectName: result.subject.displayName ?? result.subject.name });
      return result.tokens;
  }
}
