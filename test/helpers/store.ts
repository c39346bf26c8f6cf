/** Fixtures for store tests: a real SQLite file in a temp dir, and a linked grant made through the store. */
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from './tmp.js';

// The credentials and the link walk are shared with the server tests and the bench (fixtures.ts).
export { CLIENT_ID, LIFETIMES, linkInStore as link, REDIRECT_URI } from './fixtures.js';

export interface Clock {
  now: () => number;
  advance: (ms: number) => void;
}

export function clock(start = Date.UTC(2026, 10, 22, 12)): Clock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/**
 * A store clock stepped over expiry instead of waiting it out, that `reset()` puts back at the real
 * time: for tests with browser sessions, whose cookies expire by real time while the store compares
 * them with this clock.
 */
export function realTimeClock(): Clock & { reset: () => void } {
  let time = Date.now();
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    reset: () => {
      time = Date.now();
    },
  };
}

export function openStore(options: { dataDir?: string; keys?: string[]; clock?: Clock } = {}): { store: Store; dataDir: string; keys: string[] } {
  const dataDir = options.dataDir ?? tempDir();
  const keys = options.keys ?? [generateFernetKey()];
  const store = Store.open({ dataDir, encryptionKeys: keys, ...(options.clock ? { now: options.clock.now } : {}) });
  return { store, dataDir, keys };
}
