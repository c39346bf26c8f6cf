/**
 * The parts of an Alexa request envelope the guard reads, and the answers it gives itself
 * (Amazon's "Request and Response JSON Reference" for custom skills).
 */
import { negotiateLocale, type Translator, translator } from '../i18n/index.js';

export interface Envelope {
  requestType: string;
  timestamp: string;
  locale: string | undefined;
  /** Every application id the envelope names (context and session): all must be the skill's. */
  applicationIds: string[];
  accessToken: string | undefined;
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The envelope's fields, or undefined when the body is not an Alexa request. */
export function readEnvelope(body: Buffer): Envelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || !isObject(parsed.request)) return undefined;
  const requestType = str(parsed.request.type);
  const timestamp = str(parsed.request.timestamp);
  if (!requestType || !timestamp) return undefined;
  const system = isObject(parsed.context) && isObject(parsed.context.System) ? parsed.context.System : undefined;
  const session = isObject(parsed.session) ? parsed.session : undefined;
  const applicationIds = [system?.application, session?.application].filter(isObject).map((application) => application.applicationId);
  if (applicationIds.some((id) => typeof id !== 'string')) return undefined;
  const users = [system?.user, session?.user].filter(isObject);
  // The context's user is current; a session's copy is only a fallback (not every request has a context).
  const accessToken = users.map((user) => str(user.accessToken)).find((token) => token !== undefined);
  return { requestType, timestamp, locale: str(parsed.request.locale), applicationIds: applicationIds as string[], accessToken };
}

/**
 * Request types whose answer may speak and show a card. AudioPlayer.*, PlaybackController.*,
 * System.ExceptionEncountered and SessionEndedRequest may carry neither: they get an empty response.
 */
const SPEAKING = new Set(['LaunchRequest', 'IntentRequest']);

export function maySpeak(requestType: string): boolean {
  return SPEAKING.has(requestType);
}

export function localeOf(envelope: Pick<Envelope, 'locale'> | undefined): Translator {
  return translator(negotiateLocale(envelope?.locale));
}

/** The smallest valid response: nothing said, nothing shown. */
export const EMPTY_RESPONSE = { version: '1.0', response: {} } as const;

/** An answer that speaks `key` (with a card, if any) where the request type allows it, else the empty one. */
function spoken(envelope: Envelope, key: 'skill.speech.linkAccount' | 'skill.speech.unavailable', card?: { type: 'LinkAccount' }): object {
  if (!maySpeak(envelope.requestType)) return EMPTY_RESPONSE;
  const i18n = localeOf(envelope);
  return {
    version: '1.0',
    response: {
      outputSpeech: { type: 'PlainText', text: i18n.t(key, { skill: i18n.t('skill.name') }) },
      ...(card ? { card } : {}),
      shouldEndSession: true,
    },
  };
}

/** Not linked: Alexa says so and puts a LinkAccount card in the Alexa app. */
export function linkAccountResponse(envelope: Envelope): object {
  return spoken(envelope, 'skill.speech.linkAccount', { type: 'LinkAccount' });
}

/** The backend did not answer (in time, or sensibly): a short spoken apology where speech is allowed. */
export function unavailableResponse(envelope: Envelope): object {
  return spoken(envelope, 'skill.speech.unavailable');
}
