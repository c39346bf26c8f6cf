/** Picks the page language from Accept-Language and gives the views their translator. */
import type { RequestHandler } from 'express';
import { negotiate, translator } from '../i18n/index.js';

export function localize(): RequestHandler {
  return (req, res, next) => {
    const { locale, region } = negotiate(req.get('accept-language'));
    const i18n = translator(locale, region);
    res.vary('Accept-Language');
    // The views call t(), rich() and plural() directly; handlers use res.locals.i18n.
    Object.assign(res.locals, { i18n, lang: i18n.locale, t: i18n.t, rich: i18n.rich, plural: i18n.plural });
    next();
  };
}
