/** The waiting page's link to the panel, from the option or from the Supervisor (a local stand-in: the real one cannot run here). */
import { describe, expect, it } from 'vitest';
import { addonSlug, panelPath, panelUrl } from '../src/supervisor.js';
import { Browser } from './helpers/browser.js';
import { startFakeSupervisor } from './helpers/fake-supervisor.js';
import { pkcePair } from './helpers/link.js';
import { CLIENT_ID, REDIRECT_URI, startLink, startTestServer } from './helpers/oauth-server.js';

describe('link to the panel', () => {
  it('derives the panel path from the container name', () => {
    expect(addonSlug('a0d7b954-alexa-link')).toBe('a0d7b954_alexa_link');
    expect(addonSlug('local-alexa-link')).toBe('local_alexa_link');
    expect(addonSlug('somethingelse')).toBeUndefined();
    // The sidebar entry: Core registers each ingress app's panel at /<slug> (hassio/addon_panel.py,
    // frontend_url_path=addon), on every version; /app/<slug> exists only from HA 2026.2 (decision 0002).
    expect(panelUrl('https://ha.example', 'a0d7b954_alexa_link')).toBe('https://ha.example/a0d7b954_alexa_link');
    expect(panelUrl('https://ha.example', undefined)).toBe('https://ha.example');
    // No Home Assistant URL known: no link. My Home Assistant's supervisor_addon page is for
    // administrators only; the page tells everybody to choose Alexa Link in the sidebar instead.
    expect(panelUrl(undefined, 'a0d7b954_alexa_link')).toBeUndefined();
    expect(panelPath('a0d7b954_alexa_link')).toBe('/a0d7b954_alexa_link');
    expect(panelPath(undefined)).toBeUndefined();
    expect(panelUrl(undefined, undefined)).toBeUndefined();
  });

  it("uses Home Assistant's external URL from the Supervisor when no option is set", async () => {
    const supervisor = await startFakeSupervisor({ externalUrl: 'https://ha.example.net/' });
    const server = await startTestServer({}, undefined, { SUPERVISOR_URL: supervisor.url, SUPERVISOR_TOKEN: supervisor.token });
    try {
      await expect.poll(() => server.lines.some((line) => line.includes('Waiting pages link to the Home Assistant panel'))).toBe(true);
      expect(supervisor.requests[0]).toMatchObject({ method: 'GET', path: '/core/api/config', authorization: `Bearer ${supervisor.token}` });
      const { page } = await startLink(new Browser(), server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      });
      expect(page).toContain('href="https://ha.example.net"');
    } finally {
      await server.close();
      await supervisor.close();
    }
  });

  it('starts, and links nowhere, when the Supervisor cannot be reached', async () => {
    const server = await startTestServer({}, undefined, { SUPERVISOR_URL: 'http://127.0.0.1:9', SUPERVISOR_TOKEN: 'x' });
    try {
      const { page } = await startLink(new Browser(), server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      });
      expect(page).toContain('Open Home Assistant');
      expect(page).not.toContain('href="http://127.0.0.1:9');
    } finally {
      await server.close();
    }
  });
});
