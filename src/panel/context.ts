/** What the panel's handlers share. */
import type { Response } from 'express';
import type { Config } from '../config/load.js';
import { USER_CODE_EXAMPLE, USER_CODE_MAX_INPUT } from '../crypto/user-code.js';
import type { Csrf } from '../http/csrf.js';
import type { FailureBudget } from '../http/failure-budget.js';
import type { Logger } from '../log/logger.js';
import type { Store, Subject } from '../store/index.js';

export interface PanelContext {
  config: Config;
  store: Store;
  logger: Logger;
  csrf: Csrf;
  /** Wrong user codes per HA user (see server/failure-budget.ts). */
  wrongCodes: FailureBudget;
}

/** The signed-in HA user; `identify` guarantees it on every panel route. */
export function userOf(res: Response): Subject {
  const user = res.locals.user;
  if (!user) throw new Error('panel route reached without identify');
  return user;
}

/** Renders a panel page with what every page needs: the user, the path prefix, a CSRF token. */
export function renderPanel(ctx: PanelContext, res: Response, view: string, locals: Record<string, unknown>, status = 200): void {
  const user = userOf(res);
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .render(`panel/${view}`, {
      user,
      base: res.locals.base ?? '',
      csrf: ctx.csrf.token(user.id),
      codeExample: USER_CODE_EXAMPLE,
      codeMaxLength: USER_CODE_MAX_INPUT,
      ...locals,
    });
}

/** Made on first use: creating a date format loads ICU's locale data (about 8 MiB of RSS). */
let dateFormat: Intl.DateTimeFormat | undefined;

/** Dates as people read them, in the add-on's time zone (Supervisor sets TZ). */
export function when(ms: number | undefined): string {
  if (ms === undefined) return '—';
  dateFormat ??= new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  return dateFormat.format(new Date(ms));
}
