/**
 * Home Assistant notifications through the Supervisor API. The Supervisor cannot run here: a local
 * stand-in (test/helpers/fake-supervisor.ts) records the requests so their shape can be checked.
 */
import { describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { startFakeSupervisor } from './helpers/fake-supervisor.js';
import { basic, postForm } from './helpers/http.js';
import { link, refresh } from './helpers/link.js';
import { CLIENT_ID, startTestServer } from './helpers/oauth-server.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const NOTIFY = '/core/api/services/persistent_notification/create';

describe('notifications', () => {
  it('on a new link, on refresh-token reuse and on repeated failed client logins, with the right request shape', async () => {
    const supervisor = await startFakeSupervisor();
    const server = await startTestServer({ home_assistant_url: 'https://ha.example.net' }, undefined, {
      SUPERVISOR_URL: supervisor.url,
      SUPERVISOR_TOKEN: supervisor.token,
    });
    const notifications = () => supervisor.requests.filter((request) => request.path === NOTIFY);
    try {
      expect(server.lines.some((line) => line.includes('Home Assistant notifications: on'))).toBe(true);
      const linked = await link(server, ALICE);
      await expect.poll(() => notifications().length).toBe(1);
      expect(notifications()[0]).toMatchObject({
        method: 'POST',
        authorization: `Bearer ${supervisor.token}`,
        contentType: 'application/json',
        body: {
          notification_id: expect.stringMatching(/^alexa_link_linked_[0-9a-f]{16}$/),
          title: 'Alexa linked',
          message: expect.stringContaining('Alice Example'),
        },
      });

      const successor = await refresh(server, linked.refreshToken);
      await refresh(server, successor.json!.refresh_token as string);
      await refresh(server, linked.refreshToken); // reuse
      await expect.poll(() => notifications().length).toBe(2);
      expect(notifications()[1]!.body).toMatchObject({
        notification_id: expect.stringMatching(/^alexa_link_token_reuse_[0-9a-f]{16}$/),
        title: 'Alexa link revoked',
      });

      for (let i = 0; i < TUNABLES.notifications.authFailureAlert.count + 2; i++) {
        await postForm(
          `${server.base}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x' },
          { authorization: basic(CLIENT_ID, `wrong-${i}-${'x'.repeat(32)}`) },
        );
      }
      await expect.poll(() => notifications().length).toBe(3);
      expect(notifications()[2]!.body).toMatchObject({ notification_id: expect.stringMatching(/^alexa_link_auth_failures_[0-9a-f]{16}$/) });
      // Once per quiet period, not once per failure.
      await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(CLIENT_ID, 'y'.repeat(40)) });
      expect(notifications()).toHaveLength(3);
      // No notification carries a token or a secret.
      const sent = JSON.stringify(notifications());
      expect(sent).not.toContain(linked.refreshToken);
      expect(sent).not.toContain(linked.accessToken);
      expect(sent).not.toContain(server.options.alexa_client_secret as string);
    } finally {
      await server.close();
      await supervisor.close();
    }
  });

  it('two links make two notifications (one id per event), and Markdown or HTML in a name is shown literally', async () => {
    const supervisor = await startFakeSupervisor();
    const server = await startTestServer({ home_assistant_url: 'https://ha.example.net' }, undefined, {
      SUPERVISOR_URL: supervisor.url,
      SUPERVISOR_TOKEN: supervisor.token,
    });
    const messages = () =>
      supervisor.requests.filter((request) => request.path === NOTIFY).map((request) => request.body as { notification_id: string; message: string });
    // A display name with Markdown and HTML in it: the notification must show it as typed, never
    // as a link, an image, emphasis, a heading, a table or HTML (line breaks become spaces).
    const MALLORY = {
      id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2',
      name: 'mallory',
      displayName: '[Alice](https://evil.example/x) ![i](https://evil.example/i.png) <img src=x onerror=alert(1)> *b* _i_ `c` # h | t \\ &amp;\n\n# Admin',
    };
    try {
      await link(server, ALICE);
      await expect.poll(() => messages().length).toBe(1);
      await link(server, MALLORY);
      await expect.poll(() => messages().length).toBe(2);
      const [first, second] = messages();
      // Home Assistant replaces a notification whose id is reused: the first warning must stay.
      expect(first!.notification_id).not.toBe(second!.notification_id);
      expect(first!.message).toContain('Alice Example');
      expect(second!.message).toContain(
        'account of \\[Alice\\]\\(https\\:\\/\\/evil\\.example\\/x\\) \\!\\[i\\]\\(https\\:\\/\\/evil\\.example\\/i\\.png\\) ' +
          '\\<img src\\=x onerror\\=alert\\(1\\)\\> \\*b\\* \\_i\\_ \\`c\\` \\# h \\| t \\\\ \\&amp\\;  \\# Admin. If this',
      );
    } finally {
      await server.close();
      await supervisor.close();
    }
  });

  it('an unreachable Supervisor never breaks linking; the failure is logged', async () => {
    const server = await startTestServer({}, undefined, { SUPERVISOR_URL: 'http://127.0.0.1:9', SUPERVISOR_TOKEN: 'token-of-nobody' });
    try {
      const linked = await link(server, ALICE);
      expect((await refresh(server, linked.refreshToken)).status).toBe(200);
      await expect
        .poll(() => server.lines.some((line) => line.includes('Supervisor API POST /core/api/services/persistent_notification/create failed')))
        .toBe(true);
      expect(server.lines.join('\n')).not.toContain('token-of-nobody');
    } finally {
      await server.close();
    }
  });

  it('sends nothing with notify off', async () => {
    const supervisor = await startFakeSupervisor();
    const server = await startTestServer({ notify: false, home_assistant_url: 'https://ha.example.net' }, undefined, {
      SUPERVISOR_URL: supervisor.url,
      SUPERVISOR_TOKEN: supervisor.token,
    });
    try {
      expect(server.lines.some((line) => line.includes('Home Assistant notifications: off (option "notify")'))).toBe(true);
      await link(server, ALICE);
      // A notification would have been sent as the link was made, before its answer; a request made
      // after the answer arrives behind it. Only that marker arrives.
      await fetch(`${supervisor.url}/marker`, { headers: { authorization: `Bearer ${supervisor.token}` } });
      expect(supervisor.requests.map((request) => request.path)).toEqual(['/marker']);
    } finally {
      await server.close();
      await supervisor.close();
    }
  });
});
