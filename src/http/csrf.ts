/**
 * CSRF protection for the panel's forms, without server state: the token is an HMAC of the HA
 * user id and the time it was made, valid for two hours. A browser that says the request comes
 * from another site (Sec-Fetch-Site) is refused before the token is even looked at. (Origin is
 * not compared with Host: the Supervisor's proxy may rewrite Host.)
 */
import { createHmac } from 'node:crypto';
import type { RequestHandler } from 'express';
import { TUNABLES } from '../config/tunables.js';
import { safeEqual } from '../crypto/random.js';

export class Csrf {
  constructor(
    private readonly secret: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(userId: string, issuedAt: number): string {
    return createHmac('sha256', this.secret).update(`${userId}|${issuedAt}`).digest('base64url');
  }

  token(userId: string): string {
    const issuedAt = this.now();
    return `${issuedAt}.${this.mac(userId, issuedAt)}`;
  }

  valid(userId: string, token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const match = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const issuedAt = Number(match[1]);
    const age = this.now() - issuedAt;
    return age >= 0 && age <= TUNABLES.http.csrfLifetimeMs && safeEqual(match[2]!, this.mac(userId, issuedAt));
  }

  /** For POST routes: same-origin only, and a valid token for this user. */
  check(): RequestHandler {
    return (req, res, next) => {
      const site = req.headers['sec-fetch-site'];
      const crossSite = typeof site === 'string' && site !== 'same-origin' && site !== 'none';
      const body = req.body as Record<string, unknown> | undefined;
      if (crossSite || !res.locals.user || !this.valid(res.locals.user.id, body?._csrf)) {
        res.status(403).type('text/plain').send('This form has expired or came from another site. Reload the page and try again.\n');
        return;
      }
      next();
    };
  }
}
