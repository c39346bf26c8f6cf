/**
 * Picks the page language and gives the views their translator. A language chosen by hand wins:
 * `?lang=xx` (the switch at the foot of every page; it also sets the cookie `alexa_link_lang`), then
 * that cookie, then Accept-Language. Whether Alexa's in-app browser sends Accept-Language at all is
 * unverified, hence the switch. Both hand-chosen values must be exactly one of LOCALES.
 */
import type { Request, RequestHandler } from 'express';
import { isLocale, LOCALES, type Locale, negotiate, translator } from '../i18n/index.js';

export const LANG_COOKIE = 'alexa_link_lang';
const LANG_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;
/** Each language in its own name, for the switch. */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', de: 'Deutsch', nl: 'Nederlands', fr: 'Français' };

/** The cookie's value when it is exactly a supported language, else undefined. */
function cookieLocale(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  for (const pair of header.slice(0, 4096).split(';')) {
    const [name, value] = pair.trim().split('=', 2);
    if (name === LANG_COOKIE && value !== undefined && isLocale(value)) return value;
  }
  return undefined;
}

/** `?lang=` when it is exactly one supported language (a repeated parameter is ignored). */
function queryLocale(req: Request): Locale | undefined {
  const value = (req.query as Record<string, unknown>).lang;
  return typeof value === 'string' && isLocale(value) ? value : undefined;
}

/**
 * The links of the switch: this page's address with `lang` set, other parameters kept. Absolute
 * paths under the ingress prefix (`base`), as every panel link is: Home Assistant proxies only those.
 */
function switchLinks(req: Request, base: string, current: Locale): Array<{ locale: Locale; name: string; href: string; current: boolean }> {
  const path = `${base}${req.baseUrl}${req.path}`;
  const query = new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '');
  return LOCALES.map((locale) => {
    query.set('lang', locale);
    return { locale, name: LANGUAGE_NAMES[locale], href: `${path}?${query.toString()}`, current: locale === current };
  });
}

export function localize(): RequestHandler {
  return (req, res, next) => {
    const negotiated = negotiate(req.get('accept-language'));
    const fromQuery = queryLocale(req);
    const chosen = fromQuery ?? cookieLocale(req.get('cookie'));
    // The region (en-GB's 24-hour times) still comes from Accept-Language when it names the same language.
    const locale = chosen ?? negotiated.locale;
    const i18n = translator(locale, locale === negotiated.locale ? negotiated.region : undefined);
    res.vary('Accept-Language');
    res.vary('Cookie');
    const base = typeof res.locals.base === 'string' ? res.locals.base : '';
    if (fromQuery) {
      // The language and nothing else (no HttpOnly needed: it holds no secret); on ingress only under its prefix.
      res.append(
        'Set-Cookie',
        `${LANG_COOKIE}=${fromQuery}; Path=${base || '/'}; Max-Age=${LANG_COOKIE_MAX_AGE_SECONDS}; SameSite=Lax${req.secure ? '; Secure' : ''}`,
      );
    }
    // Links only where following one shows the same page again: GET and HEAD.
    const langSwitch = req.method === 'GET' || req.method === 'HEAD' ? switchLinks(req, base, locale) : undefined;
    // The views call t(), rich() and plural() directly; handlers use res.locals.i18n.
    Object.assign(res.locals, { i18n, lang: i18n.locale, t: i18n.t, rich: i18n.rich, plural: i18n.plural, langSwitch });
    next();
  };
}
