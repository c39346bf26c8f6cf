/**
 * The Home Assistant Supervisor API, reached with SUPERVISOR_TOKEN (config.yaml:
 * `homeassistant_api: true`). Used for HA's external URL (the waiting page's link to the panel)
 * and persistent notifications. Every call is bounded in time and never throws.
 */

import { http } from './commonjs.js';
import { TUNABLES } from './config/tunables.js';
import type { Logger } from './log/logger.js';

/**
 * One request and its whole answer within supervisorTimeoutMs. node:http rather than fetch(): the
 * first fetch() loads undici and compiles its WebAssembly HTTP parser, 6 to 14 MiB of RSS that
 * then stays, for a call made once at start (docs/development.md, "Memory").
 */
async function exchange(url: URL, method: string, token: string, body: string | undefined): Promise<{ status: number; text: string }> {
  const client = url.protocol === 'https:' ? await import('node:https') : http;
  const timeoutMs = TUNABLES.http.supervisorTimeoutMs;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const request = client.request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
      response.on('close', () => (response.complete ? undefined : reject(new Error('the answer was cut off'))));
    });
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('error', reject);
    request.end(body);
  });
}

export class Supervisor {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly logger: Logger,
  ) {}

  get available(): boolean {
    return this.token !== undefined;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    if (!this.token) return undefined;
    try {
      const answer = await exchange(new URL(`${this.url}${path}`), method, this.token, body === undefined ? undefined : JSON.stringify(body));
      if (answer.status < 200 || answer.status > 299) {
        this.logger.warning(`Supervisor API ${method} ${path} answered ${answer.status}`);
        return undefined;
      }
      return answer.text ? (JSON.parse(answer.text) as unknown) : {};
    } catch (error) {
      this.logger.warning(`Supervisor API ${method} ${path} failed`, { error: (error as Error).message });
      return undefined;
    }
  }

  /** Home Assistant's external URL (Settings → System → Network), if one is set. */
  async externalUrl(): Promise<string | undefined> {
    const config = (await this.call('GET', '/core/api/config')) as { external_url?: unknown } | undefined;
    const url = config?.external_url;
    return typeof url === 'string' && /^https?:\/\//.test(url) ? url.replace(/\/+$/, '') : undefined;
  }

  /** A persistent notification in Home Assistant; true if it was accepted. */
  async notify(notificationId: string, title: string, message: string): Promise<boolean> {
    const result = await this.call('POST', '/core/api/services/persistent_notification/create', { notification_id: notificationId, title, message });
    return result !== undefined;
  }
}

/**
 * The add-on's full slug from the container's host name: Supervisor names the container
 * `<repository hash>-alexa-link` (or `local-alexa-link`) after the slug `<hash>_alexa_link`.
 */
export function addonSlug(hostname: string | undefined): string | undefined {
  const match = /^([0-9a-f]{8}|local)-alexa-link$/.exec(hostname ?? '');
  return match ? `${match[1]}_alexa_link` : undefined;
}

/**
 * The panel's path inside Home Assistant: the sidebar entry, `/<slug>`. Core registers every ingress
 * app's panel there (hassio/addon_panel.py, `frontend_url_path=addon`) on every version; `/app/<slug>`
 * (Open Web UI) exists only from Home Assistant 2026.2 (docs/decisions/0002-panel-url.md).
 */
export function panelPath(slug: string | undefined): string | undefined {
  return slug === undefined ? undefined : `/${slug}`;
}

/**
 * Where a person opens the panel: `<Home Assistant>/<slug>`. Without a Home Assistant URL, no link:
 * My Home Assistant's `supervisor_addon` page is for administrators only, and household members
 * would land on the dashboard; the page tells everybody to choose Alexa Link in the sidebar.
 */
export function panelUrl(homeAssistantUrl: string | undefined, slug: string | undefined): string | undefined {
  if (!homeAssistantUrl) return undefined;
  return slug ? `${homeAssistantUrl}${panelPath(slug)}` : homeAssistantUrl;
}
