/** What every endpoint handler gets: configuration, store, logger, events, clients. */
import type { Config } from '../config/load.js';
import type { Events } from '../events.js';
import type { FailureBudget } from '../http/failure-budget.js';
import type { Sightings } from '../http/sightings.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';
import type { ClientRegistry } from './clients.js';

export interface OAuthContext {
  config: Config;
  store: Store;
  logger: Logger;
  events: Events;
  clients: ClientRegistry;
  /** Failed client authentications per client address (see server/failure-budget.ts). */
  failedClientAuth: FailureBudget;
  /**
   * Link to the add-on's panel in Home Assistant, once known (option or Supervisor), and its path
   * inside Home Assistant (`/<slug>`, the sidebar entry, for the companion app's homeassistant://navigate/ link).
   */
  panel: { url: string | undefined; path?: string | undefined };
  /** When Alexa and Music Assistant last called, for the Setup page (in memory). */
  sightings: Sightings;
}
