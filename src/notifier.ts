/**
 * Home Assistant notifications (option `notify`): a new link, a link revoked because an old
 * token came back or by an administrator, and client authentication that keeps failing. Sent
 * through the Supervisor; a failure is logged by the Supervisor client and never reaches the
 * request that caused it.
 *
 * Each notification gets its own `notification_id` (one per event): Home Assistant replaces a
 * notification whose id is reused, so with one id per kind a second link would silently replace
 * the warning about the first. Names are escaped for Home Assistant's Markdown.
 */

import { randomBytes } from 'node:crypto';
import { minutes, TUNABLES } from './config/tunables.js';
import type { Events } from './events.js';
import type { Supervisor } from './supervisor.js';

/** "Keeps failing": this many failures within the window, announced at most once per quiet period. */
const ALERT = TUNABLES.notifications.authFailureAlert;

/**
 * A fresh id for one event: `alexa_link_<kind>_<16 hex digits>`. Random rather than the grant id:
 * nothing needs to find the notification again, and every Home Assistant user can see the ids.
 */
export function notificationId(kind: 'linked' | 'token_reuse' | 'admin_revoked' | 'auth_failures'): string {
  return `alexa_link_${kind}_${randomBytes(8).toString('hex')}`;
}

/** Characters that make text unreadable or reorder it on screen: controls, line and bidi marks. */
const INVISIBLE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** Every ASCII punctuation character: CommonMark (and marked, which Home Assistant uses) lets each be backslash-escaped. */
const MARKDOWN_PUNCTUATION = /[!-/:-@[-`{-~]/g;

/**
 * Text shown literally where Home Assistant renders Markdown (a persistent notification's message
 * goes through the frontend's ha-markdown: marked with GFM and line breaks, then an HTML filter
 * that keeps links and images). Every ASCII punctuation character is backslash-escaped, so no
 * link, image, emphasis, code span, heading, table, HTML tag, entity or autolink (`https://`,
 * `www.`, e-mail) can start inside a name; line breaks and other invisible characters become
 * spaces, so a name stays on its line and reads in order.
 */
export function markdownText(text: string): string {
  return text.replace(INVISIBLE, ' ').replace(MARKDOWN_PUNCTUATION, '\\$&');
}

const who = (name: string | undefined): string => (name === undefined ? 'a household member' : markdownText(name));

export function startNotifier(events: Events, supervisor: Supervisor, now: () => number = Date.now): void {
  events.on('linked', async ({ subjectName }) => {
    await supervisor.notify(
      notificationId('linked'),
      'Alexa linked',
      `Amazon Alexa was linked to the Home Assistant account of ${who(subjectName)}. If this was not expected, revoke it in the Alexa Link panel.`,
    );
  });
  events.on('refreshReuse', async ({ subjectName }) => {
    await supervisor.notify(
      notificationId('token_reuse'),
      'Alexa link revoked',
      `An Alexa token of ${who(subjectName)} that had already been replaced was used again, which suggests it was copied. The link was revoked; link Alexa again in the Alexa app.`,
    );
  });
  // Every Home Assistant user sees persistent notifications: the message names whose link it was.
  events.on('adminRevoked', async ({ subjectName, adminName }) => {
    await supervisor.notify(
      notificationId('admin_revoked'),
      'Alexa link revoked by an administrator',
      `For ${who(subjectName)}: an administrator${adminName === undefined ? '' : ` (${markdownText(adminName)})`} revoked your Alexa link in the Alexa Link panel. To use Music Assistant with Alexa again, link the skill again in the Alexa app.`,
    );
  });
  const failures: number[] = [];
  let lastAlert = -Infinity;
  events.on('clientAuthFailed', async () => {
    const time = now();
    failures.push(time);
    while (failures.length > 0 && failures[0]! <= time - ALERT.windowMs) failures.shift();
    if (failures.length < ALERT.count || time - lastAlert < ALERT.quietMs) return;
    lastAlert = time;
    await supervisor.notify(
      notificationId('auth_failures'),
      'Alexa Link: failed logins',
      `${failures.length} failed client logins in the last ${minutes(ALERT.windowMs)} at the Alexa Link token endpoint. If the Alexa skill was not changed, someone may be guessing its secret; the add-on log has the addresses.`,
    );
  });
}
