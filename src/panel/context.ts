/** What the panel's handlers share. */
import type { Response } from 'express';
import type { Config } from '../config/load.js';
import { USER_CODE_LENGTH, USER_CODE_MAX_INPUT } from '../crypto/user-code.js';
import type { Events } from '../events.js';
import type { Csrf } from '../http/csrf.js';
import type { FailureBudget } from '../http/failure-budget.js';
import type { Sightings } from '../http/sightings.js';
import { DEFAULT_LOCALE, type MessageKey, serverTimeZone, type Translator, translator } from '../i18n/index.js';
import type { Logger } from '../log/logger.js';
import type { Store, Subject } from '../store/index.js';
import type { Roles } from './roles.js';

/** Home Assistant's names of its users, by id (src/ha/core-users.ts); empty when unknown. */
export interface Members {
  names(): Promise<ReadonlyMap<string, string>>;
}

/** Without the Supervisor no names are known: links show the name they were made with. */
export const NO_NAMES: Members = { names: async () => new Map() };

export interface PanelContext {
  config: Config;
  store: Store;
  logger: Logger;
  csrf: Csrf;
  /** Wrong user codes per HA user (see server/failure-budget.ts). */
  wrongCodes: FailureBudget;
  /** Who is a Home Assistant administrator: asked on every request that needs it, never remembered in a page. */
  roles: Roles;
  members: Members;
  /** What the notifier hears about (a link revoked by an administrator). */
  events: Events;
  /** When Alexa and Music Assistant last called the public listener, for the Setup page. */
  sightings: Sightings;
}

/** The signed-in HA user; `identify` guarantees it on every panel route. */
export function userOf(res: Response): Subject {
  const user = res.locals.user;
  if (!user) throw new Error('panel route reached without identify');
  return user;
}

/**
 * Renders a panel page with what every page needs: the user, the path prefix, a CSRF token.
 * `locals.title` is a catalogue key; the page title is its text in the reader's language.
 */
export function renderPanel(ctx: PanelContext, res: Response, view: string, locals: Record<string, unknown> & { title: MessageKey }, status = 200): void {
  const user = userOf(res);
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .render(`panel/${view}`, {
      user,
      base: res.locals.base ?? '',
      csrf: ctx.csrf.token(user.id),
      codeLength: USER_CODE_LENGTH,
      codeMaxLength: USER_CODE_MAX_INPUT,
      timeZone: serverTimeZone(),
      // The Setup tab is shown to administrators only (set by `adminFlag` in ingress-app.ts).
      admin: isAdminHere(res),
      ...locals,
      title: i18nOf(res).t(locals.title),
    });
}

/**
 * Whether the signed-in person is a Home Assistant administrator: asked of Home Assistant once per
 * request, before any panel route (`adminFlag` in ingress-app.ts), so every POST is asked afresh.
 */
export function isAdminHere(res: Response): boolean {
  return res.locals.admin === true;
}

/** The reader's translator, which the locale middleware put on every ingress response. */
export function i18nOf(res: Response): Translator {
  return (res.locals.i18n as Translator | undefined) ?? translator(DEFAULT_LOCALE);
}

/**
 * A time as the page shows it: "3 hours ago" within a day, else the date and time (readable
 * without hovering, which phones cannot); the full date and time too, and ISO for <time datetime>.
 */
export function moment(i18n: Translator, ms: number, now: number): { text: string; full: string; iso: string } {
  return { text: i18n.when(ms, now), full: i18n.dateTime(ms), iso: new Date(ms).toISOString() };
}
