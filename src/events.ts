/**
 * Things that happen which someone outside the request may need to hear about (notifications).
 * Listeners must not throw into the request: `emit` isolates them.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from './log/logger.js';

export interface EventMap {
  /** A new Alexa link was made. */
  linked: [{ grantId: string; subjectName: string | undefined }];
  /** A retired refresh token was presented: the grant was revoked. */
  refreshReuse: [{ grantId: string; subjectName: string | undefined }];
  /** An administrator revoked another person's link in the panel. */
  adminRevoked: [{ grantId: string; subjectName: string | undefined; adminName: string | undefined }];
  /** Client authentication failed (the notifier decides when "keeps failing"). */
  clientAuthFailed: [{ clientId: string | undefined; ip: string | undefined }];
}

export class Events {
  readonly #emitter = new EventEmitter();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof EventMap>(event: K, listener: (...args: EventMap[K]) => void | Promise<void>): void {
    this.#emitter.on(event, (...args: EventMap[K]) => {
      try {
        void Promise.resolve(listener(...args)).catch((error: unknown) => this.logger.error(`Handling the ${event} event failed`, { error }));
      } catch (error) {
        this.logger.error(`Handling the ${event} event failed`, { error });
      }
    });
  }

  emit<K extends keyof EventMap>(event: K, ...args: EventMap[K]): void {
    this.#emitter.emit(event, ...args);
  }
}
