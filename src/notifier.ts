/**
 * Home Assistant notifications (option `notify`): a new link, a link revoked because an old
 * token came back, and client authentication that keeps failing. Sent through the Supervisor;
 * a failure is logged by the Supervisor client and never reaches the request that caused it.
 */

import { minutes, TUNABLES } from './config/tunables.js';
import type { Events } from './events.js';
import type { Supervisor } from './supervisor.js';

const ALERT = TUNABLES.notifications.authFailureAlert;

/** "Keeps failing": this many failures within the window, announced at most once per quiet period. */

export function startNotifier(events: Events, supervisor: Supervisor, now: () => number = Date.now): void {
  events.on('linked', async ({ subjectName }) => {
    await supervisor.notify(
      'alexa_link_linked',
      'Alexa linked',
      `Amazon Alexa was linked to the Home Assistant account of ${subjectName ?? 'a household member'}. If this was not expected, revoke it in the Alexa Link panel.`,
    );
  });
  events.on('refreshReuse', async ({ subjectName }) => {
    await supervisor.notify(
      'alexa_link_token_reuse',
      'Alexa link revoked',
      `An Alexa token of ${subjectName ?? 'a household member'} that had already been replaced was used again, which suggests it was copied. The link was revoked; link Alexa again in the Alexa app.`,
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
      'alexa_link_auth_failures',
      'Alexa Link: failed logins',
      `${failures.length} failed client logins in the last ${minutes(ALERT.windowMs)} at the Alexa Link token endpoint. If the Alexa skill was not changed, someone may be guessing its secret; the add-on log has the addresses.`,
    );
  });
}
