/**
 * The one place where both listeners get their security headers (helmet): a strict CSP with only
 * our own scripts, styles and images, differing only where the listeners really differ.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

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
    strictTransportSecurity: options.hsts,
    referrerPolicy: { policy: options.referrer },
  });
}
