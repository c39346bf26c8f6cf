/**
 * The one place where both listeners get their security headers (helmet): a strict CSP with only
 * our own scripts, styles and images, differing only where the listeners really differ. The
 * protocol endpoints' JSON answers get only the headers that mean something for JSON.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { ApiStep } from './api-request.js';

/** HSTS for a year, subdomains included: on pages (helmet) and on JSON answers alike. */
const HSTS_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;
const HSTS = `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`;

export interface SecurityHeaderOptions {
  /** 'none' on public pages; 'self' for the panel inside Home Assistant's iframe. */
  frameAncestors: "'none'" | "'self'";
  /** Extra origins a form may lead to (Chrome applies form-action to the redirect after a POST). */
  formTargets?: string[];
  /** HTTPS deployments: upgrade-insecure-requests and, off loopback, HSTS. */
  https: boolean;
  hsts: boolean;
  referrer: 'no-referrer' | 'same-origin';
}

export function securityHeaders(options: SecurityHeaderOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'", ...(options.formTargets ?? [])],
        'frame-ancestors': [options.frameAncestors],
        ...(options.https ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    frameguard: options.frameAncestors === "'self'" ? { action: 'sameorigin' } : { action: 'deny' },
    strictTransportSecurity: options.hsts ? { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true } : false,
    referrerPolicy: { policy: options.referrer },
  });
}

/**
 * Headers of a JSON API answer: `nosniff` (a browser must not read the JSON as a page) and HSTS
 * where the pages send it. CSP, framing and referrer rules govern documents, not JSON, and cost a
 * dozen headers per answer; `Cache-Control: no-store` and `Pragma` (RFC 6749 §5.1, RFC 9700) are
 * set with the answer itself (oauth/http.ts).
 */
export function jsonApiHeaders(options: { hsts: boolean }): ApiStep {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (options.hsts) res.setHeader('Strict-Transport-Security', HSTS);
    next();
  };
}
