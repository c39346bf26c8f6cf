/** Picks the page language from Accept-Language and gives the views their translator. */
import type { RequestHandler } from 'express';
import { negotiateLocale, translator } from '../i18n/index.js';

export function localize(): RequestHandler {
  return (req, res, next) => {
    const i18n = translator(negotiateLocale(req.get('accept-language')));
    res.vary('Accept-Language');
    // The views call t(), rich() and plural() directly; handlers use res.locals.i18n.
    Object.assign(res.locals, { i18n, lang: i18n.locale, t: i18n.t, rich: i18n.rich, plural: i18n.plural });
    next();
  };
}
