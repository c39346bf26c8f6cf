/** Fixtures for store tests: a real SQLite file in a temp dir, and a linked grant made through the store. */
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { Store, type Subject } from '../../src/store/index.js';
import { tempDir } from './tmp.js';

export const LIFETIMES = { accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 180 * 86400 };
export const CLIENT_ID = 'alexa-test-client';
export const REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2AB3CD4EF5GH6';

export interface Clock {
  now: () => number;
  advance: (ms: number) => void;
}

export function clock(start = Date.UTC(2026, 10, 22, 12)): Clock {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

export function openStore(options: { dataDir?: string; keys?: string[]; clock?: Clock } = {}): { store: Store; dataDir: string; keys: string[] } {
  const dataDir = options.dataDir ?? tempDir();
  const keys = options.keys ?? [generateFernetKey()];
  const store = Store.open({ dataDir, encryptionKeys: keys, ...(options.clock ? { now: options.clock.now } : {}) });
  return { store, dataDir, keys };
}

/** Walks one request through the store: create, approve, release, redeem, grant, tokens. */
export function link(store: Store, subject: Subject, requester = { ip: '192.0.2.10', userAgent: 'TestBrowser/1.0' }, clientId = CLIENT_ID) {
  const request = store.requests.create({
    clientId, redirectUri: REDIRECT_URI, scope: 'music_assistant', state: 'st=ate/1',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256', requester, ttlSeconds: 600,
  });
  const found = store.requests.findPendingByUserCode(request.userCode);
  if (!found || !store.requests.decide(found.handle, 'approved', subject)) throw new Error('approval failed');
  const released = store.requests.release(request.requestId, 60);
  if (!released) throw new Error('release failed');
  const redeemed = store.codes.redeem(released.code);
  if (redeemed.status !== 'ok') throw new Error('redeem failed');
  const tokens = store.createGrantFromCode(redeemed.code, LIFETIMES, 0);
  return { request, code: released.code, tokens };
}
