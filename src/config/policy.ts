/**
 * The rules the endpoints apply, built once by the loader from the options and the tunables
 * (`Config.policy`) and handed down: no handler reads an option's raw value or builds a bound when
 * its module loads. The store's repositories take the parts they need as arguments.
 */
import type { Options } from './options.js';
import { TUNABLES } from './tunables.js';

const DAY_SECONDS = 86_400;

export interface Policy {
  /** Token lifetimes (access_token_ttl_minutes, refresh_token_idle_days), in the shape the store takes. */
  lifetimes: { accessTokenTtlSeconds: number; refreshTokenIdleSeconds: number };
  /** A link's absolute lifetime (refresh_token_max_days); 0: none, only idle expiry. */
  linkMaxSeconds: number;
  /** Refuse authorization requests without a PKCE S256 challenge (require_pkce). */
  requirePkce: boolean;
  /** How long an authorization code lives once released. */
  codeTtlSeconds: number;
  /** A pending request's lifetime and the renewals of its code ("Get a new code"). */
  renewal: { ttlSeconds: number; maxRenewals: number; windowSeconds: number; minSeconds: number };
}

/** The policy of the parsed options (units as the options state them). */
export function policyOf(options: Pick<Options, 'access_token_ttl_minutes' | 'refresh_token_idle_days' | 'refresh_token_max_days' | 'require_pkce'>): Policy {
  const { oauth } = TUNABLES;
  return Object.freeze({
    lifetimes: Object.freeze({
      accessTokenTtlSeconds: options.access_token_ttl_minutes * 60,
      refreshTokenIdleSeconds: options.refresh_token_idle_days * DAY_SECONDS,
    }),
    linkMaxSeconds: options.refresh_token_max_days * DAY_SECONDS,
    requirePkce: options.require_pkce,
    codeTtlSeconds: oauth.authorizationCodeTtlSeconds,
    renewal: Object.freeze({
      ttlSeconds: oauth.pendingRequestTtlSeconds,
      maxRenewals: oauth.maxCodeRenewals,
      windowSeconds: oauth.renewalWindowSeconds,
      minSeconds: oauth.minRenewedCodeSeconds,
    }),
  });
}
