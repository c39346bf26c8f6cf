/** Input for `store.requests.create`: a plain Alexa request (no state, no PKCE), overridable per test. */
import type { NewRequest } from '../../src/store/requests.js';
import { CLIENT_ID, REDIRECT_URI } from './store.js';

/** Each test overrides only what it looks at (state, requester), so the literal is not repeated. */
export function requestInput(overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'music_assistant',
    state: undefined,
    codeChallenge: undefined,
    requester: { ip: '192.0.2.1', userAgent: 'UA' },
    ttlSeconds: 600,
    ...overrides,
  };
}
