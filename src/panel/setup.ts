/**
 * Setup (GET /setup), for Home Assistant administrators only: what the Alexa developer console
 * asks for, from the options, and the live checks run as the page is asked for. Anyone else gets
 * the same 404 as for a page that does not exist.
 */
import type { RequestHandler } from 'express';
import { SetupChecks } from '../setup/checks.js';
import { consoleValues } from '../setup/values.js';
import { describeCheck } from '../setup/words.js';
import { i18nOf, isAdminHere, moment, type PanelContext, renderPanel } from './context.js';

export function setupPage(ctx: PanelContext, notFound: RequestHandler): RequestHandler {
  const checks = new SetupChecks(ctx.config, ctx.sightings);
  return async (req, res, next) => {
    if (!isAdminHere(res)) {
      notFound(req, res, next);
      return;
    }
    const i18n = i18nOf(res);
    const report = await checks.run();
    const now = Date.now();
    renderPanel(ctx, res, 'setup', {
      title: 'setup.title',
      tab: 'setup',
      setupValues: consoleValues(ctx.config),
      ranAt: moment(i18n, report.at, now),
      checks: report.results.map((result) => describeCheck(i18n, result, now)),
    });
  };
}
