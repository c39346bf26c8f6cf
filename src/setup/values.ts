/**
 * What the Alexa developer console asks for, computed from the options (pure). Labels are the
 * console's own, in English as it shows them, so that a person finds the same words there.
 * Secrets are never values here: only whether they are set.
 */
import type { Config } from '../config/load.js';
import { alexaRedirectUris } from '../config/options.js';
import { TUNABLES } from '../config/tunables.js';

/** The scheme Alexa must use at /token: the client id and secret in an Authorization header. */
export const AUTHENTICATION_SCHEME = 'HTTP Basic (Recommended)';

export type ConsoleValue =
  /** A value to copy into the console. */
  | { id: string; label: string; where: ConsolePlace; kind: 'copy'; value: string }
  /** A secret: only whether it is set. */
  | { id: string; label: string; where: ConsolePlace; kind: 'secret'; set: boolean }
  /** Several values to compare with what the console shows. */
  | { id: string; label: string; where: ConsolePlace; kind: 'list'; values: string[] }
  /** Nothing to enter, and why (a catalogue reason in `setup.value.*`). */
  | { id: string; label: string; where: ConsolePlace; kind: 'none'; reason: 'noVendorId' | 'skillOff' | 'introspectOff' };

/** Where in the console (or in Music Assistant) the value goes. */
export type ConsolePlace = 'accountLinking' | 'endpoint' | 'musicAssistant';

export interface ConsoleValues {
  values: ConsoleValue[];
  /** The vendor id the redirect URLs end with, when set. */
  vendorId: string | undefined;
  /** extra_redirect_uris: also allowed, not Alexa's. */
  extraRedirectUris: string[];
}

export function consoleValues(config: Config): ConsoleValues {
  const base = config.publicUrl;
  const vendorId = config.alexa.vendorId;
  const alexa = vendorId ? alexaRedirectUris(vendorId) : [];
  const values: ConsoleValue[] = [
    { id: 'authorizationUri', label: 'Your Web Authorization URI', where: 'accountLinking', kind: 'copy', value: `${base}/authorize` },
    { id: 'accessTokenUri', label: 'Access Token URI', where: 'accountLinking', kind: 'copy', value: `${base}/token` },
    { id: 'clientId', label: 'Your Client ID', where: 'accountLinking', kind: 'copy', value: config.alexa.clientId },
    { id: 'clientSecret', label: 'Your Secret', where: 'accountLinking', kind: 'secret', set: config.alexa.clientSecret.length > 0 },
    { id: 'scheme', label: 'Your Authentication Scheme', where: 'accountLinking', kind: 'copy', value: AUTHENTICATION_SCHEME },
    { id: 'scope', label: 'Scope', where: 'accountLinking', kind: 'copy', value: TUNABLES.oauth.scopes.join(' ') },
    vendorId
      ? { id: 'redirectUrls', label: 'Alexa Redirect URLs', where: 'accountLinking', kind: 'list', values: alexa }
      : { id: 'redirectUrls', label: 'Alexa Redirect URLs', where: 'accountLinking', kind: 'none', reason: 'noVendorId' },
    config.skill
      ? { id: 'skillEndpoint', label: 'Default Region (HTTPS)', where: 'endpoint', kind: 'copy', value: `${base}/skill` }
      : { id: 'skillEndpoint', label: 'Default Region (HTTPS)', where: 'endpoint', kind: 'none', reason: 'skillOff' },
    config.resourceServerSecret
      ? { id: 'introspectionSecret', label: 'resource_server_secret', where: 'musicAssistant', kind: 'secret', set: true }
      : { id: 'introspectionSecret', label: 'resource_server_secret', where: 'musicAssistant', kind: 'none', reason: 'introspectOff' },
  ];
  const extraRedirectUris = config.alexa.redirectUris.filter((uri) => !alexa.includes(uri));
  return { values, vendorId, extraRedirectUris };
}
