/** Scopes (RFC 6749 §3.3): space-separated, each one of the server's; none asked means all. */
import { TUNABLES } from '../config/tunables.js';
import { OAuthError } from '../errors.js';

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function parseScope(requested: string | undefined): string {
  if (requested === undefined) return TUNABLES.oauth.scopes.join(' ');
  const scopes = [...new Set(requested.split(' ').filter(Boolean))];
  if (scopes.length === 0) return TUNABLES.oauth.scopes.join(' ');
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope) || !(TUNABLES.oauth.scopes as readonly string[]).includes(scope)) {
      throw new OAuthError('invalid_scope', `unknown scope; this server grants: ${TUNABLES.oauth.scopes.join(' ')}`);
    }
  }
  return scopes.join(' ');
}

/** A refresh may ask for the same or fewer scopes than the grant has, never more. */
export function checkScopeSubset(requested: string | undefined, granted: string): void {
  if (requested === undefined) return;
  const allowed = new Set(granted.split(' '));
  if (
    !requested
      .split(' ')
      .filter(Boolean)
      .every((scope) => allowed.has(scope))
  ) {
    throw new OAuthError('invalid_scope', 'the requested scope exceeds the scope of the grant');
  }
}
