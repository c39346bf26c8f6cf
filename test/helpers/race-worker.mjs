// One racer in a concurrency test: opens the store (a separate process, its own SQLite connection),
// says "ready", waits for "go" on stdin, performs one operation and prints its outcome as JSON.
// An optional sixth argument stops the store's clock at that time (ms), so that racers that run
// at the same moment also agree on the time (time-based rules such as the refresh repeat window).
import { createInterface } from 'node:readline';
import { Store } from '../../dist/store/index.js';

const [dataDir, key, op, value, clientId, frozen] = process.argv.slice(2);
const store = Store.open({ dataDir, encryptionKeys: [key], ...(frozen ? { now: () => Number(frozen) } : {}) });
const lifetimes = { accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 86400 };
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  let outcome;
  if (op === 'redeem') outcome = store.codes.redeem(value).status;
  else if (op === 'release') outcome = store.requests.release(value, 60) ? 'ok' : 'none';
  else outcome = store.tokens.refresh(value, clientId, lifetimes).status;
  process.stdout.write(`${JSON.stringify({ outcome })}\n`);
  lines.close();
  store.close();
});
