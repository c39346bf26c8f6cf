/**
 * The Home Assistant Supervisor API, reached with SUPERVISOR_TOKEN (config.yaml:
 * `homeassistant_api: true`). Used for HA's external URL (the waiting page's link to the panel)
 * and persistent notifications. Every call is bounded in time and never throws.
 */

import { TUNABLES } from './config/tunables.js';
import type { Logger } from './log/logger.js';

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
      const response = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TUNABLES.http.supervisorTimeoutMs),
      });
      if (!response.ok) {
        this.logger.warning(`Supervisor API ${method} ${path} answered ${response.status}`);
        return undefined;
      }
      const text = await response.text();
      return text ? (JSON.parse(text) as unknown) : {};
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
 * Where a person opens the panel: `<Home Assistant>/app/<slug>`, or without a Home Assistant URL
 * My Home Assistant's page of the add-on (docs/decisions/0002-panel-url.md).
 */
export function panelUrl(homeAssistantUrl: string | undefined, slug: string | undefined): string | undefined {
  if (!homeAssistantUrl) return slug ? `https://my.home-assistant.io/redirect/supervisor_addon/?addon=${encodeURIComponent(slug)}` : undefined;
  return slug ? `${homeAssistantUrl}/app/${slug}` : homeAssistantUrl;
}
