/** RFC 8414 authorization server metadata: a standard client discovers everything from here. */
import type { RequestHandler } from 'express';
import { TUNABLES } from '../config/tunables.js';
import type { OAuthContext } from './context.js';

export function metadataDocument({ config }: Pick<OAuthContext, 'config'>): Record<string, unknown> {
  const base = config.publicUrl;
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  return {
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    revocation_endpoint: `${base}/revoke`,
    ...(config.resourceServerSecret ? { introspection_endpoint: `${base}/introspect` } : {}),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    ...(config.resourceServerSecret ? { introspection_endpoint_auth_methods_supported: authMethods } : {}),
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...TUNABLES.oauth.scopes],
    authorization_response_iss_parameter_supported: true,
  };
}

export function metadata(ctx: OAuthContext): RequestHandler {
  const body = JSON.stringify(metadataDocument(ctx));
  return (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').type('application/json').send(body);
  };
}
